"""The forms of community pages: details, invitations, meetings and their registers, joining."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from app.communities.models import (
    MEETING_METHODS,
    CommunityStatus,
    MeetingFormat,
    MeetingStatus,
    MembershipRole,
    RegisterStatus,
)
from app.communities.value_cycles import EvidenceKind, ValueCycle
from app.form_errors import row_id


class CommunityDetailsForm(FlaskForm):
    name = StringField("Name of the community", validators=[Length(max=200)])
    purpose = TextAreaField("Its purpose (optional)", validators=[Length(max=2000)])
    domain = TextAreaField("What is it about? (its domain, optional)", validators=[Length(max=2000)])
    status = RadioField("Where is it now?", choices=[SelectChoice(s.value, s.label) for s in CommunityStatus],
                        default=CommunityStatus.PLANNING.value)


class InvitationForm(FlaskForm):
    email = StringField("Their email address", validators=[Length(max=320)])
    role = RadioField("They join as", choices=[SelectChoice(r.value, r.label) for r in (MembershipRole.MEMBER,
                                                                                        MembershipRole.CONVENER)],
                      default=MembershipRole.MEMBER.value)


class MeetingForm(FlaskForm):
    meets_on = DateField("Date", validators=[Optional()])
    starts = TimeField("Start time (UK time, optional)", validators=[Optional()])
    ends = TimeField("End time (optional)", validators=[Optional()])
    format = RadioField("Format", choices=[SelectChoice(f.value, f.label) for f in MeetingFormat],
                        validators=[Optional()])
    location = StringField("Where: a venue or a joining link (optional)", validators=[Length(max=500)])
    agenda = TextAreaField("Agenda (optional)", validators=[Length(max=4000)])
    methods = SelectMultipleField("Methods used (optional)", choices=[SelectChoice(m, m) for m in MEETING_METHODS])
    other_method = StringField("Other method (optional)", validators=[Length(max=120)])
    status = RadioField("Status", choices=[SelectChoice(s.value, s.label) for s in MeetingStatus],
                        default=MeetingStatus.PLANNED.value)
    notes = TextAreaField("Notes (optional)", validators=[Length(max=4000)])
    actions = TextAreaField("Actions (optional)", validators=[Length(max=4000)])


REGISTER_CHOICES = [SelectChoice("", "Not recorded")] + [SelectChoice(s.value, s.label) for s in RegisterStatus]


class RegisterBase(FlaskForm):
    guest_count = IntegerField("Others who came, counted without names", validators=[Optional()])

    def statuses(self) -> dict[int, str]:
        return {int(f.name.removeprefix("person_")): f.data or "" for f in self if f.name.startswith("person_")}


def register_form(memberships, meeting=None, **kwargs) -> RegisterBase:
    """A register with one choice per person in the community, filled from the meeting's register."""
    recorded = {row.user_id: row.status for row in meeting.register} if meeting is not None else {}

    class RegisterForm(RegisterBase):
        pass

    for membership in memberships:
        setattr(RegisterForm, f"person_{membership.user_id}",
                RadioField(membership.user.name, choices=REGISTER_CHOICES,
                           default=recorded.get(membership.user_id, ""), validators=[Optional()]))
    return RegisterForm(**kwargs)


class JoinWithNewAccountForm(FlaskForm):
    name = StringField("Your full name", validators=[Length(max=200)])
    password = PasswordField("Choose a password")


class ConfirmForm(FlaskForm):
    """A button with CSRF only: join, remove, delete."""


# -- programmes of work -------------------------------------------------------------------------

class ProgrammeForm(FlaskForm):
    name = StringField("Name of the programme of work", validators=[Length(max=200)])
    description = TextAreaField("What it is for (optional)", validators=[Length(max=4000)])
    run_by = StringField("Who runs it (optional)", validators=[Length(max=200)])
    starts_on = DateField("Starts (optional)", validators=[Optional()])
    ends_on = DateField("Ends (optional)", validators=[Optional()])
    story_questions = TextAreaField("Questions for value story interviews, one a line", validators=[Length(max=3000)])


class TeamMemberForm(FlaskForm):
    email = StringField("Email address of their account", validators=[Length(max=320)])


class ProgrammeCommunityForm(FlaskForm):
    community_id = SelectField("Community", coerce=row_id, validate_choice=False)


class NextStepsForm(FlaskForm):
    next_steps = TextAreaField("Next steps", validators=[Length(max=4000)])


# -- value ----------------------------------------------------------------------------------

CYCLE_CHOICES = [SelectChoice(c.value, c.label) for c in ValueCycle]


class EvidenceForm(FlaskForm):
    kind = RadioField("What is it?", choices=[SelectChoice(k.value, k.label) for k in EvidenceKind],
                      default=EvidenceKind.QUOTE.value)
    text = TextAreaField("In their words, or what changed", validators=[Length(max=4000)])
    cycles = SelectMultipleField("What kind of value does it show?", choices=CYCLE_CHOICES)


class StoryBase(FlaskForm):
    interviewee = SelectField("Who was interviewed", validators=[Optional()])
    interviewee_name = StringField("Or someone else: their name", validators=[Length(max=200)])
    interviewed_on = DateField("Date of the interview (optional)", validators=[Optional()])
    cycles = SelectMultipleField("What kind of value does the story show? (optional)", choices=CYCLE_CHOICES)
    consent_to_share = BooleanField("They agree to the story being shared in the programme's report")

    def pairs(self) -> tuple[list[str], list[str]]:
        numbers = sorted(int(f.name.removeprefix("question_")) for f in self if f.name.startswith("question_"))
        return ([getattr(self, f"question_{n}").data or "" for n in numbers],
                [getattr(self, f"answer_{n}").data or "" for n in numbers])


def story_form(questions: list[str], conveners, story=None, **kwargs) -> StoryBase:
    """A value story: each question (editable, starting from the defaults) with its answer."""
    answered = list(story.answers) if story is not None else []
    rows = max(len(questions), len(answered))

    class StoryForm(StoryBase):
        pass

    for n in range(1, rows + 1):
        asked = answered[n - 1]["question"] if n <= len(answered) else questions[n - 1]
        answer = answered[n - 1]["answer"] if n <= len(answered) else ""
        setattr(StoryForm, f"question_{n}", StringField(f"Question {n}", default=asked,
                                                        validators=[Length(max=300)]))
        setattr(StoryForm, f"answer_{n}", TextAreaField(f"Answer {n}", default=answer,
                                                        validators=[Length(max=4000)]))
    form = StoryForm(**kwargs)
    form.interviewee.choices = [SelectChoice("", "Someone else (name below)")] + [
        SelectChoice(str(person.id), person.name) for person in conveners]
    return form
