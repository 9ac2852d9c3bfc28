from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import URL, DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.programme.models import SESSION_KIND_LABELS


class CohortForm(FlaskForm):
    name = StringField("Cohort name", validators=[DataRequired("Enter a name for the cohort, like 2026 to 2027"),
                                                  Length(max=120)])
    starts_on = DateField("Start date", validators=[InputRequired("Enter the date of the welcome session")],
                          format="%Y-%m-%d")
    capacity = IntegerField("Places", default=28, validators=[
        InputRequired("Enter how many places the cohort has"),
        NumberRange(min=1, max=500, message="Places must be between 1 and 500"),
    ])
    applications_open = DateField("Applications open", validators=[Optional()], format="%Y-%m-%d")
    application_deadline = DateField("Application deadline", validators=[Optional()], format="%Y-%m-%d")
    # Left out (a form from before templates): the default template.
    template_id = RadioField("The shape of the year", choices=[], validators=[Optional()], validate_choice=False)

    def validate_application_deadline(self, field):
        if field.data and self.applications_open.data and field.data <= self.applications_open.data:
            raise ValidationError("The application deadline must be after applications open")
        if field.data and self.starts_on.data and field.data >= self.starts_on.data:
            raise ValidationError("The application deadline must be before the cohort starts")


class TemplateForm(FlaskForm):
    """A programme template: which parts the year has, their times and the gaps between them. The service
    checks the numbers and times together (what is wanted depends on which parts are ticked)."""

    name = StringField("Name", validators=[DataRequired("Give the template a name"), Length(max=120)])
    description = TextAreaField("Description (optional)", validators=[Length(max=2000)])
    has_welcome = BooleanField("A welcome half-day on the start date")
    welcome_starts = TimeField("Welcome starts", validators=[Optional()])
    welcome_ends = TimeField("Welcome ends", validators=[Optional()])
    module_count = IntegerField("How many modules", validators=[Optional()])
    days_per_module = RadioField("Half-days in each module", choices=[
        SelectChoice("1", "One half-day"), SelectChoice("2", "Two half-days on consecutive working days")],
        validators=[Optional()], validate_choice=False)
    module_starts = TimeField("Module half-days start", validators=[Optional()])
    module_ends = TimeField("Module half-days end", validators=[Optional()])
    first_module_weeks = IntegerField("Weeks from the start to the first module", validators=[Optional()])
    module_interval_weeks = IntegerField("Weeks from one module to the next", validators=[Optional()])
    has_clinics = BooleanField("A drop-in clinic half-way between each pair of modules")
    clinic_starts = TimeField("Clinics start", validators=[Optional()])
    clinic_ends = TimeField("Clinics end", validators=[Optional()])
    has_co_consulting = BooleanField("A co-consulting session after each module")
    co_consulting_weeks = IntegerField("Weeks after each module", validators=[Optional()])
    co_consulting_starts = TimeField("Co-consulting starts", validators=[Optional()])
    co_consulting_ends = TimeField("Co-consulting ends", validators=[Optional()])
    has_celebration = BooleanField("A celebration event after the last module")
    celebration_weeks = IntegerField("Weeks after the last module", validators=[Optional()])
    celebration_starts = TimeField("Celebration starts", validators=[Optional()])
    celebration_ends = TimeField("Celebration ends", validators=[Optional()])


class PreviewForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: it changes nothing

    starts_on = DateField("Start date", format="%Y-%m-%d", validators=[Optional()])


class CohortSettingsForm(FlaskForm):
    name = StringField("Cohort name", validators=[DataRequired("Enter a name for the cohort"), Length(max=120)])
    capacity = IntegerField("Places", validators=[
        InputRequired("Enter how many places the cohort has"),
        NumberRange(min=1, max=500, message="Places must be between 1 and 500"),
    ])
    applications_open = DateField("Applications open", validators=[Optional()], format="%Y-%m-%d")
    application_deadline = DateField("Application deadline", validators=[Optional()], format="%Y-%m-%d")
    offer_response_days = IntegerField("Days to answer an offer", validators=[
        InputRequired("Enter how many days applicants have to answer an offer"),
        NumberRange(min=1, max=60, message="Days to answer an offer must be between 1 and 60"),
    ])
    guest_capacity = IntegerField("Guest places at the celebration", validators=[
        InputRequired("Enter how many guests the celebration can take"),
        NumberRange(min=0, max=2000, message="Guest places must be between 0 and 2,000"),
    ])
    blind_review = BooleanField("Blind review: reviewers see others' scores only after giving their own")
    apologies_excused = BooleanField("Apologies are excused: left out of a person's attendance rate")


class SessionForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired("Enter a title for the session"), Length(max=200)])
    kind = SelectField("Kind of session", choices=[SelectChoice(k.value, label) for k, label in SESSION_KIND_LABELS.items()],
                       validators=[DataRequired("Choose what kind of session this is")])
    module_number = SelectField("Module", choices=[SelectChoice("", "Not a module day")] + [SelectChoice(str(n), f"Module {n}") for n in range(1, 6)],
                                validators=[Optional()])
    part = RadioField("Day of the module", choices=[SelectChoice("1", "Day 1"), SelectChoice("2", "Day 2")], validators=[Optional()])
    day = DateField("Date", format="%Y-%m-%d", validators=[InputRequired("Enter the date of the session")])
    starts = TimeField("Starts (UK time)", validators=[InputRequired("Enter the start time, like 09:30")])
    ends = TimeField("Ends (UK time)", validators=[InputRequired("Enter the end time, like 12:30")])
    join_url = StringField("Video call link", validators=[
        Optional(), Length(max=500), URL(message="Enter a full web address starting with https://"),
    ])
    venue = StringField("Venue", validators=[Length(max=300)])
    access_info = TextAreaField("Access information", validators=[Length(max=2000)])
    description = TextAreaField("Notes for participants", validators=[Length(max=4000)])
    keep_date = BooleanField("Keep this date anyway")

    def validate_ends(self, field):
        if field.data and self.starts.data and field.data <= self.starts.data:
            raise ValidationError("The end time must be after the start time")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # Module and day are optional fields, required only for module days.
        if self.kind.data == "module":
            if not self.module_number.data:
                self.module_number.errors = [*self.module_number.errors, "Choose which module this day belongs to"]
                valid = False
            if not self.part.data:
                self.part.errors = [*self.part.errors, "Choose day 1 or day 2"]
                valid = False
        return valid


class SessionStatusForm(FlaskForm):
    """Postponing a session (date to be confirmed) or recording that it did not take place."""

    reason = TextAreaField("Why", validators=[DataRequired("Say why: participants and the report will read it"),
                                              Length(max=500, message="Keep the reason to 500 characters")])


class NewDateForm(FlaskForm):
    """A postponed session's new date."""

    day = DateField("New date", format="%Y-%m-%d", validators=[InputRequired("Enter the new date of the session")])
    starts = TimeField("Starts (UK time)", validators=[InputRequired("Enter the start time, like 09:30")])
    ends = TimeField("Ends (UK time)", validators=[InputRequired("Enter the end time, like 12:30")])


class RescheduleModuleForm(FlaskForm):
    first_day = DateField("New date of day 1", format="%Y-%m-%d",
                          validators=[InputRequired("Enter the new date of the module's first day")])


class ReminderRuleForm(FlaskForm):
    """One reminder rule of a cohort. The service checks the values, so what was typed comes back."""

    enabled = RadioField("Send this reminder?", choices=[SelectChoice("yes", "Yes"), SelectChoice("no", "No")],
                         validators=[InputRequired("Choose whether to send this reminder")])
    days = StringField("Days", validators=[Length(max=60)])
    at = StringField("Time (UK time)", validators=[Length(max=10)])
    hours = StringField("Hours after the session ends", validators=[Length(max=10)])
    every_days = StringField("How often, in days", validators=[Length(max=10)])


class FacilitatorsForm(FlaskForm):
    facilitators = SelectMultipleField("Who facilitates this session", coerce=int, validators=[Optional()],
                                       widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
