"""Feedback after a session: the form's settings per kind, giving feedback, and the results.

Who gave feedback and what they said are written to two tables in one unit of work; an
anonymous response carries no enrolment, no time and a random key, so nothing joins them.
Percentages are whole numbers rounded half up; with no answers there is no percentage (None),
never 0% and never a division by zero.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.attendance.models import ATTENDED, Attendance, AttendanceStatus
from app.db import db
from app.errors import Conflict, DomainError, PermissionDenied
from app.evaluation import anonymity
from app.evaluation.models import (
    ClosureReason,
    FeedbackClosure,
    FeedbackReceipt,
    FeedbackResponse,
    FeedbackSetting,
    RecommendScale,
    cycles_in,
)
from app.notifications.services import cancel_pending
from app.programme.access import enrolment_in
from app.programme.models import Cohort, Enrolment, EnrolmentStatus, ProgrammeSession, SessionKind, SessionStatus

# Feedback can be given from the end of a session for this long.
FEEDBACK_WINDOW = timedelta(days=30)
WORTHWHILE_LABELS = {5: "Strongly agree", 4: "Agree", 3: "Neither agree nor disagree", 2: "Disagree",
                     1: "Strongly disagree"}
TEXT_LIMIT = 2000


def percent(part: int, whole: int) -> int | None:
    """Whole-number percentage rounded half up (12.5 -> 13); None when there is nothing to divide."""
    if whole <= 0:
        return None
    return int((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# -- settings --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    kind: str
    enabled: bool = True
    recommend_scale: str = RecommendScale.YES_NO.value
    ask_free_text: bool = True
    ask_quote: bool = True
    allow_anonymous: bool = True

    @property
    def kind_label(self) -> str:
        return SessionKind(self.kind).label


def settings_for(cohort_id: int) -> dict[str, Settings]:
    """Every session kind's feedback settings for a cohort, defaults where the team set none."""
    saved = {row.kind: row for row in db.session.scalars(select(FeedbackSetting).where(
        FeedbackSetting.cohort_id == cohort_id))}
    result = {}
    for kind in SessionKind:
        row = saved.get(kind.value)
        result[kind.value] = Settings(kind.value) if row is None else Settings(
            kind.value, row.enabled, row.recommend_scale, row.ask_free_text, row.ask_quote, row.allow_anonymous)
    return result


def save_settings(*, actor, cohort: Cohort, settings: Settings) -> None:
    if not actor.is_team:
        raise PermissionDenied("Only the programme team changes the feedback forms.")
    if settings.kind not in {k.value for k in SessionKind}:
        raise DomainError("Choose a kind of session.", field="kind")
    if settings.recommend_scale not in {s.value for s in RecommendScale}:
        raise DomainError("Choose how people say whether they would recommend it.", field="recommend_scale")
    row = db.session.scalar(select(FeedbackSetting).where(FeedbackSetting.cohort_id == cohort.id,
                                                          FeedbackSetting.kind == settings.kind))
    if row is None:
        row = FeedbackSetting(cohort_id=cohort.id, kind=settings.kind)
        db.session.add(row)
    row.enabled, row.recommend_scale = settings.enabled, settings.recommend_scale
    row.ask_free_text, row.ask_quote, row.allow_anonymous = (settings.ask_free_text, settings.ask_quote,
                                                             settings.allow_anonymous)
    db.session.flush()


# -- giving feedback -------------------------------------------------------------------------

@dataclass
class Answers:
    worthwhile: int | None = None
    recommend_yes: bool | None = None
    recommend_score: int | None = None
    what_worked: str = ""
    what_to_change: str = ""
    quote: str = ""
    quote_consent: bool = False
    anonymous: bool = False
    value_cycles: list[str] = field(default_factory=list)


def _enrolment(user, session: ProgrammeSession) -> Enrolment:
    enrolment = enrolment_in(user, session.cohort_id)
    if enrolment is None:
        raise PermissionDenied("Only participants of this cohort can give feedback on its sessions.")
    return enrolment


def window_state(session: ProgrammeSession, now: datetime) -> str:
    """'cancelled', 'not_yet' (before the end), 'open' or 'closed' (30 days on, or closed early)."""
    if session.status != SessionStatus.SCHEDULED:
        return "cancelled"
    if now < session.ends_at:
        return "not_yet"
    if now > session.ends_at + FEEDBACK_WINDOW or anonymity.closure(session.id) is not None:
        return "closed"
    return "open"


def has_given(enrolment_id: int, session_id: int) -> bool:
    return db.session.scalar(select(FeedbackReceipt.id).where(
        FeedbackReceipt.session_id == session_id, FeedbackReceipt.enrolment_id == enrolment_id)) is not None


def invited(session_ids: list[int]) -> dict[int, set[int]]:
    """Who may answer each session: the people its register shows there (present, late, left
    early) or, where no register was taken, the cohort's active participants who did not send
    apologies. Apologies alone are not a register. Three queries whatever the number of sessions."""
    if not session_ids:
        return {}
    result: dict[int, set[int]] = {sid: set() for sid in session_ids}
    registered: set[int] = set()
    apologised: dict[int, set[int]] = {}
    for sid, enrolment_id, status in db.session.execute(
            select(Attendance.session_id, Attendance.enrolment_id, Attendance.status)
            .where(Attendance.session_id.in_(session_ids))).all():
        if status == AttendanceStatus.APOLOGIES:
            apologised.setdefault(sid, set()).add(enrolment_id)
            continue
        registered.add(sid)
        if status in ATTENDED:
            result[sid].add(enrolment_id)
    unregistered = [sid for sid in session_ids if sid not in registered]
    if unregistered:
        cohort_of = dict(db.session.execute(select(ProgrammeSession.id, ProgrammeSession.cohort_id).where(
            ProgrammeSession.id.in_(unregistered))).all())
        active: dict[int, set[int]] = {}
        for cohort_id, enrolment_id in db.session.execute(
                select(Enrolment.cohort_id, Enrolment.id).where(Enrolment.cohort_id.in_(set(cohort_of.values())),
                                                                Enrolment.status == EnrolmentStatus.ACTIVE.value)):
            active.setdefault(cohort_id, set()).add(enrolment_id)
        for sid in unregistered:
            result[sid] = active.get(cohort_of[sid], set()) - apologised.get(sid, set())
    return result


def awaiting(enrolment: Enrolment, now: datetime) -> list[ProgrammeSession]:
    """Sessions this participant can still give feedback on, oldest first (a bounded number of queries)."""
    settings = settings_for(enrolment.cohort_id)
    ended = db.session.scalars(select(ProgrammeSession).where(
        ProgrammeSession.cohort_id == enrolment.cohort_id, ProgrammeSession.status == SessionStatus.SCHEDULED.value,
        ProgrammeSession.ends_at <= now, ProgrammeSession.ends_at >= now - FEEDBACK_WINDOW,
        ~ProgrammeSession.id.in_(select(FeedbackClosure.session_id)))
        .order_by(ProgrammeSession.starts_at)).all()
    given = set(db.session.scalars(select(FeedbackReceipt.session_id).where(
        FeedbackReceipt.enrolment_id == enrolment.id)))
    may_answer = invited([s.id for s in ended])
    return [s for s in ended if settings[s.kind].enabled and s.id not in given
            and enrolment.id in may_answer[s.id]]


def _check(answers: Answers, settings: Settings) -> None:
    if answers.worthwhile not in WORTHWHILE_LABELS:
        raise DomainError("Say how far you agree that the session was a worthwhile use of your time.",
                          field="worthwhile")
    if settings.recommend_scale == RecommendScale.YES_NO:
        if answers.recommend_yes is None:
            raise DomainError("Say whether you would recommend it to a colleague.", field="recommend")
    elif answers.recommend_score is None or not 0 <= answers.recommend_score <= 10:
        raise DomainError("Choose a number from 0 to 10 for how likely you are to recommend it.", field="recommend")
    if answers.anonymous and not settings.allow_anonymous:
        raise DomainError("Feedback on this kind of session is not anonymous.", field="anonymous")
    for name in ("what_worked", "what_to_change", "quote"):
        if len(getattr(answers, name)) > TEXT_LIMIT:
            raise DomainError(f"Keep this to {TEXT_LIMIT} characters.", field=name)
    if answers.quote_consent and not answers.quote.strip():
        raise DomainError("Write the quote you are happy for us to use, or untick the box.", field="quote")


def give_feedback(*, actor, session: ProgrammeSession, answers: Answers, now: datetime) -> None:
    """Record a participant's feedback: once per session, from its end for 30 days, only from
    people who were there. A named answer is written at once; an anonymous one is held back,
    sealed, until the session's feedback closes (see `anonymity`)."""
    enrolment = _enrolment(actor, session)
    settings = settings_for(session.cohort_id)[session.kind]
    anonymity.lock_session(session.id)
    state = window_state(session, now)
    if not settings.enabled or state == "cancelled":
        raise Conflict("There is no feedback form for this session.")
    if state == "not_yet":
        raise Conflict("You can give feedback once the session has ended.")
    if has_given(enrolment.id, session.id):
        raise Conflict("You have already given feedback on this session. Thank you.")
    if state == "closed":
        raise Conflict("Feedback on this session has closed.")
    if enrolment.id not in invited([session.id])[session.id]:
        raise Conflict("The register for this session does not show you as there, so there is no feedback to "
                       "give. If the register is wrong, ask the programme team to correct it.")
    _check(answers, settings)
    zero_ten = settings.recommend_scale == RecommendScale.ZERO_TEN
    content = anonymity.HeldAnswer(
        worthwhile=answers.worthwhile, recommend_scale=settings.recommend_scale,
        recommend_yes=None if zero_ten else answers.recommend_yes,
        recommend_score=answers.recommend_score if zero_ten else None,
        what_worked=answers.what_worked.strip() if settings.ask_free_text else "",
        what_to_change=answers.what_to_change.strip() if settings.ask_free_text else "",
        quote=answers.quote.strip() if settings.ask_quote else "",
        quote_consent=bool(answers.quote_consent and settings.ask_quote and answers.quote.strip()),
        value_cycles=cycles_in(answers.value_cycles))
    db.session.add(FeedbackReceipt(session_id=session.id, enrolment_id=enrolment.id, given_at=now))
    if answers.anonymous:
        anonymity.hold(session.id, content)
    else:
        db.session.add(FeedbackResponse(session_id=session.id, enrolment_id=enrolment.id, **asdict(content)))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("You have already given feedback on this session. Thank you.") from None
    cancel_pending(f"feedback-follow-up:{session.id}:{actor.id}:")
    if _everyone_answered(session.id):
        anonymity.release(session.id, now=now, reason=ClosureReason.EVERYONE_ANSWERED)


def _everyone_answered(session_id: int) -> bool:
    could = invited([session_id])[session_id]
    answered = set(db.session.scalars(select(FeedbackReceipt.enrolment_id).where(
        FeedbackReceipt.session_id == session_id)))
    return bool(could) and could <= answered


def close_feedback(*, actor, session: ProgrammeSession, now: datetime) -> int:
    """The team closes a session's feedback early, releasing its anonymous answers. Returns how many."""
    if not actor.is_team:
        raise PermissionDenied("Only the programme team closes feedback.")
    if now < session.ends_at:
        raise Conflict("Feedback on a session can be closed only after it has ended.")
    if anonymity.closure(session.id) is not None or now > session.ends_at + FEEDBACK_WINDOW:
        raise Conflict("Feedback on this session has already closed.")
    return anonymity.release(session.id, now=now, reason=ClosureReason.CLOSED_BY_TEAM)


# -- results ---------------------------------------------------------------------------------

@dataclass
class Tally:
    """Counts behind one session's (or several sessions') headline figures.

    `invited` is who could answer (see `invited`); `responses` is how many of them did (their
    receipts), so a response rate can never pass 100%. The ratings come from the answers that can be
    read: named ones and anonymous ones released when feedback closed; `held` anonymous answers are
    still sealed and counted in `responses` only.
    """

    invited: int = 0
    responses: int = 0
    answers: int = 0
    held: int = 0
    worthwhile_answered: int = 0
    worthwhile_agree: int = 0
    worthwhile_counts: dict[int, int] = field(default_factory=lambda: dict.fromkeys(WORTHWHILE_LABELS, 0))
    yes_no_answered: int = 0
    yes: int = 0
    score_answered: int = 0
    promoters: int = 0
    detractors: int = 0

    def add(self, other: Tally) -> None:
        for name in ("invited", "responses", "answers", "held", "worthwhile_answered", "worthwhile_agree",
                     "yes_no_answered", "yes", "score_answered", "promoters", "detractors"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for score, count in other.worthwhile_counts.items():
            self.worthwhile_counts[score] += count

    @property
    def response_rate(self) -> int | None:
        return percent(self.responses, self.invited)

    @property
    def worthwhile_percent(self) -> int | None:
        return percent(self.worthwhile_agree, self.worthwhile_answered)

    @property
    def recommend_answered(self) -> int:
        return self.yes_no_answered + self.score_answered

    @property
    def recommend_percent(self) -> int | None:
        """Yes answers, and 9 or 10 on the 0-10 scale, as a share of everyone who answered."""
        return percent(self.yes + self.promoters, self.recommend_answered)

    @property
    def nps(self) -> int | None:
        """Net Promoter Score: % scoring 9-10 minus % scoring 0-6, from the 0-10 answers only."""
        if not self.score_answered:
            return None
        return percent(self.promoters - self.detractors, self.score_answered)


def tallies(sessions: list[ProgrammeSession]) -> dict[int, Tally]:
    """One Tally per session, in a fixed number of queries whatever the number of sessions."""
    ids = [s.id for s in sessions]
    result = {sid: Tally() for sid in ids}
    if not ids:
        return result
    may_answer = invited(ids)
    for sid, people in may_answer.items():
        result[sid].invited = len(people)
    for sid, enrolment_id in db.session.execute(select(FeedbackReceipt.session_id, FeedbackReceipt.enrolment_id)
                                                .where(FeedbackReceipt.session_id.in_(ids))).all():
        result[sid].responses += enrolment_id in may_answer[sid]
    for sid, unnamed in db.session.execute(select(FeedbackClosure.session_id, FeedbackClosure.imported_unnamed)
                                           .where(FeedbackClosure.session_id.in_(ids),
                                                  FeedbackClosure.imported_unnamed > 0)).all():
        result[sid].responses = min(result[sid].responses + unnamed, result[sid].invited)
    for sid, count in anonymity.held_counts(ids).items():
        result[sid].held = count
    rows = db.session.execute(select(FeedbackResponse.session_id, FeedbackResponse.worthwhile,
                                     FeedbackResponse.recommend_yes, FeedbackResponse.recommend_score)
                              .where(FeedbackResponse.session_id.in_(ids))).all()
    for sid, worthwhile, yes, score in rows:
        tally = result[sid]
        tally.answers += 1
        if worthwhile is not None:
            tally.worthwhile_answered += 1
            tally.worthwhile_counts[worthwhile] += 1
            tally.worthwhile_agree += worthwhile >= 4
        if yes is not None:
            tally.yes_no_answered += 1
            tally.yes += yes
        if score is not None:
            tally.score_answered += 1
            tally.promoters += score >= 9
            tally.detractors += score <= 6
    return result


def overall(per_session: dict[int, Tally]) -> Tally:
    """Every session's answers added up."""
    total = Tally()
    for tally in per_session.values():
        total.add(tally)
    return total


def sessions_with_feedback(cohort: Cohort, now: datetime) -> list[ProgrammeSession]:
    """The cohort's sessions that have ended and were not cancelled, in order."""
    return list(db.session.scalars(select(ProgrammeSession).where(
        ProgrammeSession.cohort_id == cohort.id, ProgrammeSession.status == SessionStatus.SCHEDULED.value,
        ProgrammeSession.ends_at <= now).order_by(ProgrammeSession.starts_at)))


def by_kind(sessions: list[ProgrammeSession], per_session: dict[int, Tally]) -> dict[str, Tally]:
    totals: dict[str, Tally] = {}
    for session in sessions:
        totals.setdefault(session.kind, Tally()).add(per_session[session.id])
    return {kind.value: totals[kind.value] for kind in SessionKind if kind.value in totals}


def responses_for(session_ids: list[int]) -> list[FeedbackResponse]:
    """The responses themselves, in a random but stable order (their random keys), never by time."""
    if not session_ids:
        return []
    return list(db.session.scalars(select(FeedbackResponse).where(FeedbackResponse.session_id.in_(session_ids))
                                   .options(selectinload(FeedbackResponse.enrolment).selectinload(Enrolment.user))
                                   .order_by(FeedbackResponse.key)))


def year_on_year(cohort: Cohort, now: datetime) -> list[tuple[Cohort, dict[str, Tally], Tally]]:
    """Every cohort of the programme that has held sessions, with its figures by kind and overall."""
    cohorts = list(db.session.scalars(select(Cohort).where(Cohort.programme_id == cohort.programme_id)
                                      .order_by(Cohort.starts_on)))
    sessions = list(db.session.scalars(select(ProgrammeSession).where(
        ProgrammeSession.cohort_id.in_([c.id for c in cohorts]),
        ProgrammeSession.status == SessionStatus.SCHEDULED.value, ProgrammeSession.ends_at <= now)))
    per_session = tallies(sessions)
    result = []
    for each in cohorts:
        mine = [s for s in sessions if s.cohort_id == each.id]
        if not mine:
            continue
        overall = Tally()
        for s in mine:
            overall.add(per_session[s.id])
        result.append((each, by_kind(mine, per_session), overall))
    return result
