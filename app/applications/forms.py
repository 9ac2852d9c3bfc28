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


ELIGIBILITY_QUESTION = "Which of these apply to you?"
NOT_ANSWERED = "Not answered"


def _question(name: str) -> str:
    """The wording the application form shows for a field, without building a form."""
    unbound = getattr(ApplicationForm, name)
    return unbound.kwargs.get("label") or unbound.args[0]


def _choice_label(name: str, value) -> str:
    choices = getattr(ApplicationForm, name).kwargs["choices"]
    return next((choice.label for choice in choices if choice.value == value), "")


def submitted_answers(application) -> list[tuple[str, str]]:
    """Every question of the application form, in the form's order, with the applicant's answer as
    plain text ("" when not answered): the applicant's copy and the confirmation email show these."""
    organisation = application.organisation
    eligibility = [_question(name) for name in ("is_improvement_community_member", "leads_network_cop")
                   if getattr(application, name)]
    crosses = {True: "yes", False: "no"}.get(application.crosses_boundaries)
    return [
        (_question("job_title"), application.job_title),
        (_question("profession"), application.profession),
        (_question("phone"), application.phone),
        (_question("organisation_id"), organisation.name if organisation else ""),
        (_question("new_organisation_kind"), organisation.kind_label if organisation else ""),
        (_question("new_organisation_region"), organisation.region if organisation else ""),
        (ELIGIBILITY_QUESTION, "\n".join(eligibility)),
        (_question("cop_title"), application.cop_title),
        (_question("cop_domain"), application.cop_domain),
        (_question("cop_members"), application.cop_members),
        (_question("crosses_boundaries"), _choice_label("crosses_boundaries", crosses)),
        (_question("boundaries_how"), application.boundaries_how),
        (_question("cop_status"), _choice_label("cop_status", application.cop_status)),
        (_question("hopes"), application.hopes),
        (_question("sponsor_name"), application.sponsor_name),
        (_question("sponsor_email"), application.sponsor_email),
        (_question("sponsor_job_title"), application.sponsor_job_title),
    ]


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


class OnBehalfForm(FlaskForm):
    decision = RadioField("The line manager's answer", choices=[
        SelectChoice("approve", "Supports the application and releases them for at least 10 days"),
        SelectChoice("decline", "Does not support the application")],
        validators=[InputRequired("Choose the line manager's answer")])
    reason = TextAreaField("Why are you recording this for them?", validators=[
        DataRequired("Say why you are recording this on the line manager's behalf"), MaxLength(1000)])
    comment = TextAreaField("The line manager's comment (optional)", validators=[MaxLength(2000)])
