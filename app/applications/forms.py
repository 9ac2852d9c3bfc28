import re

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional, ValidationError

from app.auth.models import ORGANISATION_KIND_LABELS
from app.form_errors import row_id

YES_NO = [SelectChoice("yes", "Yes"), SelectChoice("no", "No")]
KIND_CHOICES = [SelectChoice("", "Choose a kind")] + [SelectChoice(k.value, v) for k, v in ORGANISATION_KIND_LABELS.items()]


class MaxLength(Length):
    """A length limit whose message names the question, so the error summary says which answer is too
    long: "What do you hope to gain from the programme? must be 3,000 characters or fewer". The
    field's `maxlength` flag (from Length) is what the character count shows."""

    def __init__(self, max: int):  # noqa: A002  (Length's own name for it)
        super().__init__(max=max)

    def __call__(self, form, field):
        # Browsers send a line break as CR LF; the character count in the page counts it once.
        if field.data is not None and len(str(field.data).replace("\r\n", "\n")) > self.max:
            question = re.sub(r"\s*\([^)]*\)$", "", field.label.text)  # "Phone number (optional)" -> "Phone number"
            raise ValidationError(f"{question} must be {self.max:,} characters or fewer")


EMAIL = Email("Enter an email address in the correct format, like name@example.nhs.uk", check_deliverability=False)


class RowIdField(HiddenField):
    """A row's id: a whole number a database key can hold, else None (never an error: the view answers
    for a missing row as it would for an unknown one)."""

    def process_formdata(self, valuelist):
        try:
            self.data = row_id(valuelist[0]) if valuelist else None
        except ValueError:
            self.data = None


class StartApplicationForm(FlaskForm):
    cohort_id = RowIdField()


class ApplicationForm(FlaskForm):
    """Every answer is optional while drafting; submitting checks completeness in the service."""

    job_title = StringField("Job title", validators=[MaxLength(120)])
    profession = StringField("Profession", validators=[MaxLength(120)])
    phone = StringField("Phone number (optional)", validators=[MaxLength(40)])
    organisation_id = SelectField("Your organisation", choices=[], validators=[Optional()])
    new_organisation_name = StringField("Organisation name", validators=[MaxLength(200)])
    new_organisation_kind = SelectField("Kind of organisation", choices=KIND_CHOICES, validators=[Optional()])
    new_organisation_region = StringField("Region", validators=[MaxLength(100)])
    is_improvement_community_member = BooleanField("I am a member of the national improvement community")
    leads_network_cop = BooleanField("I lead, or plan to lead, a community of practice supported by the network")
    cop_title = StringField("Name of your community of practice", validators=[MaxLength(200)])
    cop_domain = TextAreaField("What does your community care about?", validators=[MaxLength(3000)])
    cop_members = TextAreaField("Who does it bring together?", validators=[MaxLength(3000)])
    crosses_boundaries = RadioField("Does it cross professional or organisational boundaries?", choices=YES_NO,
                                    validators=[Optional()])
    boundaries_how = TextAreaField("How does it cross boundaries?", validators=[MaxLength(3000)])
    cop_status = RadioField("Is your community running yet?", choices=[
        SelectChoice("planning", "I am planning it"), SelectChoice("running", "It is already running")],
        validators=[Optional()])
    hopes = TextAreaField("What do you hope to gain from the programme?", validators=[MaxLength(3000)])
    sponsor_name = StringField("Line manager's full name", validators=[MaxLength(120)])
    sponsor_email = EmailField("Line manager's email address", validators=[Optional(), EMAIL, MaxLength(254)])
    sponsor_job_title = StringField("Line manager's job title", validators=[MaxLength(120)])
    action = HiddenField()


class SponsorChangeForm(FlaskForm):
    sponsor_name = StringField("Line manager's full name", validators=[DataRequired("Enter your line manager's name"),
                                                                       MaxLength(120)])
    sponsor_email = EmailField("Line manager's email address", validators=[
        DataRequired("Enter your line manager's email address"), EMAIL, MaxLength(254)])
    sponsor_job_title = StringField("Line manager's job title", validators=[MaxLength(120)])


class WithdrawForm(FlaskForm):
    reason = TextAreaField("Why are you withdrawing? (optional)", validators=[MaxLength(500)])


class OfferResponseForm(FlaskForm):
    response = RadioField("Do you accept your place?", choices=[
        SelectChoice("accept", "Yes, I accept my place"), SelectChoice("decline", "No, I decline the place")],
        validators=[InputRequired("Choose whether you accept or decline the place")])


class SponsorDecisionForm(FlaskForm):
    decision = RadioField("Do you support this application?", choices=[
        SelectChoice("approve", "Yes, I support it"), SelectChoice("decline", "No, I cannot support it")],
        validators=[InputRequired("Choose whether you support the application")])
    confirms_release = BooleanField("I confirm the organisation will release them for at least 10 days over the year")
    comment = TextAreaField("Comment (optional if you support it; needed if you do not)", validators=[MaxLength(2000)])


class ReviewForm(FlaskForm):
    boundary = IntegerField("Crossing boundaries (1 to 5)", validators=[
        InputRequired("Score crossing boundaries from 1 to 5"), NumberRange(1, 5, "Scores are from 1 to 5")])
    ambition = IntegerField("Ambition for system improvement (1 to 5)", validators=[
        InputRequired("Score ambition from 1 to 5"), NumberRange(1, 5, "Scores are from 1 to 5")])
    readiness = IntegerField("Readiness (1 to 5)", validators=[
        InputRequired("Score readiness from 1 to 5"), NumberRange(1, 5, "Scores are from 1 to 5")])
    comment = TextAreaField("Comment (optional)", validators=[MaxLength(2000)])


class DecisionForm(FlaskForm):
    decision = RadioField("Selection decision", choices=[
        SelectChoice("offer", "Offer a place"), SelectChoice("waitlist", "Waiting list"),
        SelectChoice("unsuccessful", "Unsuccessful"), SelectChoice("none", "No decision yet")],
        validators=[InputRequired("Choose a decision")])
    back = HiddenField()  # "selection": return to the selection page rather than the application


class OnBehalfForm(FlaskForm):
    decision = RadioField("The line manager's answer", choices=[
        SelectChoice("approve", "Supports the application and releases them for at least 10 days"),
        SelectChoice("decline", "Does not support the application")],
        validators=[InputRequired("Choose the line manager's answer")])
    reason = TextAreaField("Why are you recording this for them?", validators=[
        DataRequired("Say why you are recording this on the line manager's behalf"), MaxLength(1000)])
    comment = TextAreaField("The line manager's comment (optional)", validators=[MaxLength(2000)])
