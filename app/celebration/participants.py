"""Participants' own answers for the celebration (coming or not, access and dietary needs) and the venue's
headcount: participants coming plus guests coming."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.auth.models import User
from app.celebration.models import CelebrationParticipant, Guest, GuestStatus, Rsvp
from app.celebration.services import celebration_session
from app.db import db
from app.errors import Conflict, DomainError, PermissionDenied
from app.programme.access import enrolment_in
from app.programme.models import Cohort, Enrolment, EnrolmentStatus

NEEDS_LENGTH = 1000


def answer_celebration(*, actor, cohort: Cohort, coming: str, access_needs: str, dietary_needs: str,
                       now: datetime) -> CelebrationParticipant:
    """A participant says whether they will come ("yes" or "no"), with their needs; they may change it until
    the event starts. The needs are kept as given whatever the answer."""
    enrolment = enrolment_in(actor, cohort.id)
    if enrolment is None:
        raise PermissionDenied("Only participants of this cohort can answer for the celebration.")
    if coming not in ("yes", "no"):
        raise DomainError("Choose whether you will come.", field="coming")
    event = celebration_session(cohort.id)
    if event is None:
        raise Conflict("The celebration event is not on the schedule yet.", field="coming")
    if event.starts_at <= now:
        raise Conflict("The event has started, so answers can no longer be changed.", field="coming")
    answer = db.session.scalar(select(CelebrationParticipant).where(
        CelebrationParticipant.enrolment_id == enrolment.id))
    if answer is None:
        answer = CelebrationParticipant(cohort_id=cohort.id, enrolment_id=enrolment.id)
        db.session.add(answer)
    answer.is_coming = coming == "yes"
    answer.access_needs = access_needs.strip()[:NEEDS_LENGTH]
    answer.dietary_needs = dietary_needs.strip()[:NEEDS_LENGTH]
    answer.responded_at = now
    db.session.flush()
    return answer


def my_answer(actor, cohort: Cohort) -> CelebrationParticipant | None:
    enrolment = enrolment_in(actor, cohort.id)
    if enrolment is None:
        return None
    return db.session.scalar(select(CelebrationParticipant).where(
        CelebrationParticipant.enrolment_id == enrolment.id))


@dataclass(frozen=True)
class ParticipantRow:
    """One active participant as the team plans the venue: their answer ("yes", "no" or "pending") and
    their needs, which are shown only while they are coming."""

    name: str
    email: str
    answer: str
    access_needs: str
    dietary_needs: str


def participant_answers(cohort: Cohort) -> list[ParticipantRow]:
    """Every active participant of the cohort with their answer, in one query whatever the cohort's size."""
    rows = db.session.execute(
        select(User.name, User.email, CelebrationParticipant.is_coming, CelebrationParticipant.access_needs,
               CelebrationParticipant.dietary_needs)
        .join(Enrolment, Enrolment.user_id == User.id)
        .outerjoin(CelebrationParticipant, CelebrationParticipant.enrolment_id == Enrolment.id)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE.value)
        .order_by(User.name, User.id)).all()
    result = []
    for name, email, is_coming, access, dietary in rows:
        answer = "pending" if is_coming is None else "yes" if is_coming else "no"
        needs = (access or "", dietary or "") if is_coming else ("", "")
        result.append(ParticipantRow(name, email, answer, *needs))
    return result


@dataclass(frozen=True)
class Headcount:
    participants_coming: int
    participants_not_coming: int
    participants_not_answered: int
    guests_coming: int
    guests_not_coming: int
    guests_not_answered: int

    @property
    def coming(self) -> int:
        """The number the venue plans for."""
        return self.participants_coming + self.guests_coming

    @property
    def not_answered(self) -> int:
        return self.participants_not_answered + self.guests_not_answered

    def summary(self) -> str:
        return (f"Venue headcount: {self.coming} coming ({_count(self.participants_coming, 'participant')} and "
                f"{_count(self.guests_coming, 'guest')}); {self.not_answered} not answered yet "
                f"({_count(self.participants_not_answered, 'participant')} and "
                f"{_count(self.guests_not_answered, 'guest')})")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def venue_headcount(participants: list[ParticipantRow], guests: list[Guest]) -> Headcount:
    """From the cohort's participants and all its guests (only sent invitations count for guests)."""
    invited = [g for g in guests if g.status == GuestStatus.INVITED]
    return Headcount(
        participants_coming=sum(1 for p in participants if p.answer == "yes"),
        participants_not_coming=sum(1 for p in participants if p.answer == "no"),
        participants_not_answered=sum(1 for p in participants if p.answer == "pending"),
        guests_coming=sum(1 for g in invited if g.rsvp == Rsvp.YES),
        guests_not_coming=sum(1 for g in invited if g.rsvp == Rsvp.NO),
        guests_not_answered=sum(1 for g in invited if g.rsvp == Rsvp.PENDING))
