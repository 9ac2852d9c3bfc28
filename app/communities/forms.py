"""The forms of community pages: details, invitations, meetings and their registers, joining."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    PasswordField,
    RadioField,
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
