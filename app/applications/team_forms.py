"""The programme team's forms for organisations, reviewers, bulk decisions and releasing outcomes."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget


class MergeOrganisationForm(FlaskForm):
    into = SelectField("It is the same organisation as", coerce=int,
                       validators=[InputRequired("Choose the organisation on the list that this one is")])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AssignReviewersForm(FlaskForm):
    reviewers = MultiCheckboxField("Reviewers", coerce=int, validators=[Optional()])


class BulkDecisionForm(FlaskForm):
    applications = MultiCheckboxField("Applications", coerce=int, validators=[Optional()])
    decision = SelectField("Decision for the applications you ticked", choices=[
        SelectChoice("", "Choose a decision"), SelectChoice("offer", "Offer a place"),
        SelectChoice("waitlist", "Waiting list"), SelectChoice("unsuccessful", "Unsuccessful"),
        SelectChoice("none", "No decision yet")],
        validators=[DataRequired("Choose the decision for the applications you ticked")])


class AssignmentPlanForm(FlaskForm):
    """Share the cohort's unassigned applications among reviewers, each read by a number of them."""

    reviewers = MultiCheckboxField("Reviewers", coerce=int, validators=[Optional()])
    per_application = SelectField("Reviewers for each application", coerce=int, default=2,
                                  choices=[SelectChoice(n, str(n)) for n in (1, 2, 3)])


class ReleaseForm(FlaskForm):
    offer_deadline = DateField("Offers must be answered by", format="%Y-%m-%d",
                               validators=[InputRequired("Enter the date offers must be answered by")])
    offer_message = TextAreaField("Your words in the offer email", validators=[Length(max=2000)])
    waitlist_message = TextAreaField("Your words in the waiting list email", validators=[Length(max=2000)])
    unsuccessful_message = TextAreaField("Your words in the unsuccessful email", validators=[Length(max=2000)])
    action = StringField(validators=[Optional()])
