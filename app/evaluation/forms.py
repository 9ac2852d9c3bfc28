"""Forms for feedback, communities of practice, meetings, value evidence and impact stories.

Validation of the rules lives in the services; these forms read and keep what was typed.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.communities.models import MEETING_METHODS, CommunityStatus
from app.evaluation.communities import ATTENDANCE_TOO_LOW, MIN_ATTENDANCE
from app.evaluation.feedback import WORTHWHILE_LABELS
from app.evaluation.models import EvidenceKind, RecommendScale, ValueCycle

CYCLE_CHOICES = [SelectChoice(c.value, c.label) for c in ValueCycle]


class FeedbackForm(FlaskForm):
    worthwhile = RadioField("Taking part in this session was a worthwhile use of my time",
                            choices=[SelectChoice(str(k), v) for k, v in WORTHWHILE_LABELS.items()],
                            validators=[InputRequired("Say how far you agree that the session was a worthwhile "
                                                      "use of your time.")])
    recommend = RadioField("Would you recommend this session to a colleague?",
                           validators=[InputRequired("Say whether you would recommend it to a colleague.")])
    what_worked = TextAreaField("What worked well for you?", validators=[Length(max=2000)])
    what_to_change = TextAreaField("What would you change?", validators=[Length(max=2000)])
    value_cycles = SelectMultipleField("What value did you get from it? (optional)", choices=CYCLE_CHOICES)
    quote = TextAreaField("A sentence about the session we could quote (optional)", validators=[Length(max=2000)])
    quote_consent = BooleanField("The programme team may use my quote in reports and publicity, without my name")
    anonymous = BooleanField("Send my feedback anonymously")

    def set_scale(self, scale: str) -> None:
        if scale == RecommendScale.ZERO_TEN:
            self.recommend.label.text = ("How likely are you to recommend this session to a colleague? "
                                         "0 is not at all likely, 10 is extremely likely")
            self.recommend.choices = [SelectChoice(str(n), str(n)) for n in range(11)]
        else:
            self.recommend.choices = [SelectChoice("yes", "Yes"), SelectChoice("no", "No")]


class TagsForm(FlaskForm):
    """The team's value tags on one feedback answer; the service checks the cycles."""

    cycles = SelectMultipleField("Value", choices=CYCLE_CHOICES, validate_choice=False)
    next = StringField()  # the page to go back to (followed only when it is on this site)


class FeedbackSettingsForm(FlaskForm):
    kind = StringField()  # which kind of session's form these settings are for
    enabled = BooleanField("Ask for feedback after these sessions")
    recommend_scale = RadioField("How people say whether they would recommend it",
                                 choices=[SelectChoice(RecommendScale.YES_NO.value, "Yes or no"),
                                          SelectChoice(RecommendScale.ZERO_TEN.value,
                                                       "0 to 10 (gives a Net Promoter Score)")])
    ask_free_text = BooleanField("Ask what worked and what to change")
    ask_quote = BooleanField("Ask for a quote the team may use, with consent")
    allow_anonymous = BooleanField("Let people answer anonymously")


class CommunityForm(FlaskForm):
    title = StringField("Name of your community of practice", validators=[Length(max=200)])
    domain = TextAreaField("What is it about? (its domain)", validators=[Length(max=2000)])
    member_kinds = TextAreaField("Who are its members?", validators=[Length(max=2000)])
    crosses_boundaries = BooleanField("Its members come from different organisations, sectors or professions")
    boundaries_how = TextAreaField("Which boundaries does it cross?", validators=[Length(max=2000)])
    status = RadioField("Where is it now?", choices=[SelectChoice(s.value, s.label) for s in CommunityStatus],
                        default=CommunityStatus.PLANNING.value)


class MeetingForm(FlaskForm):
    held_on = DateField("Date of the meeting", validators=[Optional()])
    attendance = IntegerField("How many people came?",
                              validators=[Optional(), NumberRange(min=MIN_ATTENDANCE, message=ATTENDANCE_TOO_LOW)])
    methods = SelectMultipleField("Methods you used (optional)", choices=[SelectChoice(m, m) for m in MEETING_METHODS])
    other_method = StringField("Other method (optional)", validators=[Length(max=120)])
    reflection = TextAreaField("A short reflection: what happened, what you learned (optional)",
                               validators=[Length(max=4000)])


class EvidenceForm(FlaskForm):
    kind = RadioField("What are you adding?", choices=[SelectChoice(k.value, k.label) for k in EvidenceKind],
                      default=EvidenceKind.REFLECTION.value)
    text = TextAreaField("In your words", validators=[Length(max=2000)])
    cycles = SelectMultipleField("What kind of value does it show?", choices=CYCLE_CHOICES)
    consent = BooleanField("Others in the cohort, and the programme's reports, may show this")


class StoryForm(FlaskForm):
    action = StringField()  # the button pressed: "submit" sends it for review, anything else saves a draft
    title = StringField("Title of your story", validators=[Length(max=200)])
    once_upon_a_time = TextAreaField("Once upon a time...")
    every_day = TextAreaField("Every day...")
    one_day = TextAreaField("One day...")
    because_of_that = TextAreaField("Because of that... (one per paragraph: leave a blank line between them)")
    until_finally = TextAreaField("Until finally...")
    cycles = SelectMultipleField("What kind of value does your story show?", choices=CYCLE_CHOICES)
    consent_to_publish = BooleanField("The programme team may publish my story, with my name, in the cohort "
                                      "and in the programme's evaluation report")


class NarrativeForm(FlaskForm):
    summary = TextAreaField("Summary", validators=[Length(max=10_000)])
    next_steps = TextAreaField("Next steps", validators=[Length(max=10_000)])


class ReviewStoryForm(FlaskForm):
    """The team's decision on a story; the service checks it."""

    decision = StringField()  # publish, return or unpublish: the button pressed
    note = TextAreaField("Note to the author")


class FeedbackImportForm(FlaskForm):
    file = FileField("Feedback as a CSV file")
    action = StringField()  # "confirm" imports the previewed text; anything else previews the file
    csv_text = TextAreaField()  # the previewed text, sent back to be imported
