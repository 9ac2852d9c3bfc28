"""Feedback after each community meeting: the community's questions, giving feedback once, paper forms,
closing, and the results (with `meeting_feedback_figures` for reports).

Who may answer in the app: the people the meeting's register names as present, once the meeting has
been held (its status, or its end time has passed), for 30 days. Guests counted without names cannot
be asked by the app; a convener types their paper forms in, each as an anonymous answer.

Anonymity is the programme's design (app/evaluation/anonymity.py), with the shared parts from
app/sealing.py: the receipt of who answered is written at once; an anonymous answer is sealed and
padded until the meeting's feedback closes, then all of them are written out in one statement,
shuffled, with fresh random keys, and the sealed rows deleted. Answers from paper forms name nobody.

Small groups: the words of anonymous answers in the app, and of paper forms, are shown (and their
ratings counted in the average) only when there are at least `SMALL_GROUP` of that kind: with fewer,
who wrote what could be worked out from who answered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from cryptography.exceptions import InvalidTag
from flask import current_app
from sqlalchemy import and_, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import audit, clock, sealing
from app.communities.feedback_models import (
    AnswersAre,
    CommunityClosureReason,
    CommunityFeedbackClosure,
    CommunityFeedbackReceipt,
    CommunityFeedbackResponse,
    CommunityFeedbackSealed,
    CommunityFeedbackSetting,
    ResponseKind,
    StandardQuestion,
)
from app.communities.models import Community, CommunityMeeting, MeetingAttendance, MeetingStatus, RegisterStatus
from app.communities.services.access import check_manager
from app.db import db
from app.errors import Conflict, DomainError
from app.notifications.services import cancel_pending

FEEDBACK_WINDOW = timedelta(days=30)
SMALL_GROUP = 3
TEXT_LIMIT = 1500
MAX_EXTRA_QUESTIONS = 3
QUESTION_LIMIT = 200
RATING_LABELS = {5: "Very worthwhile", 4: "Worthwhile", 3: "Somewhat worthwhile", 2: "Not very worthwhile",
                 1: "Not at all worthwhile"}
TEXT_QUESTIONS = (StandardQuestion.WORKED, StandardQuestion.BETTER, StandardQuestion.DIFFERENTLY)
# Six answers of TEXT_LIMIT characters and three questions, even if every character took 6 bytes in JSON.
SEAL_SIZE = 65_536
_CONTEXT = b"convene community meeting feedback v1"
KEY_PREFIX = "community-feedback"


# -- the community's questions ------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    is_enabled: bool = True
    questions: tuple[str, ...] = tuple(q.value for q in StandardQuestion)
    extra_questions: tuple[str, ...] = ()
    answers_are: str = AnswersAre.ANONYMOUS.value

    def asks(self, question: str) -> bool:
        return question in self.questions

    @property
    def answers_are_label(self) -> str:
        return AnswersAre(self.answers_are).label


def settings_of(community_id: int) -> Settings:
    row = db.session.get(CommunityFeedbackSetting, community_id)
    if row is None:
        return Settings()
    return Settings(row.is_enabled, tuple(q.value for q in StandardQuestion if q.value in (row.questions or [])),
                    tuple(row.extra_questions or ()), row.answers_are)


def save_settings(*, actor, community: Community, settings: Settings, now: datetime) -> Settings:
    """A convener (or the team) sets which questions the community asks and whether answers are anonymous."""
    check_manager(actor, community)
    if settings.answers_are not in {a.value for a in AnswersAre}:
        raise DomainError("Choose whether answers are anonymous or named.", field="answers_are")
    if any(q not in {s.value for s in StandardQuestion} for q in settings.questions):
        raise DomainError("Choose questions from the list.", field="questions")
    extra = [q.strip() for q in settings.extra_questions if q and q.strip()]
    if len(extra) > MAX_EXTRA_QUESTIONS:
        raise DomainError(f"Ask up to {MAX_EXTRA_QUESTIONS} questions of your own.", field="extra_questions")
    if any(len(q) > QUESTION_LIMIT for q in extra):
        raise DomainError(f"Keep each question to {QUESTION_LIMIT} characters.", field="extra_questions")
    if settings.is_enabled and not settings.questions and not extra:
        raise DomainError("Choose at least one question, or turn feedback off.", field="questions")
    row = db.session.get(CommunityFeedbackSetting, community.id)
    if row is None:
        row = CommunityFeedbackSetting(community_id=community.id)
        db.session.add(row)
    row.is_enabled, row.answers_are = settings.is_enabled, settings.answers_are
    row.questions = [q.value for q in StandardQuestion if q.value in settings.questions]
    row.extra_questions = extra
    db.session.flush()
    audit.record(actor=actor, action="community_feedback_questions_changed", target_type="community",
                 target_id=community.id, now=now)
    return settings_of(community.id)


# -- when feedback is open ------------------------------------------------------------------------

def opens_at(meeting: CommunityMeeting) -> datetime:
    """When the meeting's feedback opens: its end (its start, or the evening of its day, when not recorded)."""
    return meeting.ends_at or meeting.starts_at or clock.local_instant(meeting.meets_on, time(17, 0))


def closes_at(meeting: CommunityMeeting) -> datetime:
    return max(opens_at(meeting), clock.local_instant(meeting.meets_on, time(0, 0))) + FEEDBACK_WINDOW


def closure(meeting_id: int) -> CommunityFeedbackClosure | None:
    return db.session.get(CommunityFeedbackClosure, meeting_id)


def window_state(meeting: CommunityMeeting, now: datetime) -> str:
    """'withdrawn' (postponed or cancelled), 'not_yet', 'open' or 'closed'."""
    if meeting.status in (MeetingStatus.POSTPONED, MeetingStatus.CANCELLED):
        return "withdrawn"
    if meeting.status != MeetingStatus.HELD and now < opens_at(meeting):
        return "not_yet"
    if now > closes_at(meeting) or closure(meeting.id) is not None:
        return "closed"
    return "open"


def present_ids(meeting: CommunityMeeting) -> set[int]:
    return {row.user_id for row in meeting.register if row.status == RegisterStatus.PRESENT}


def has_given(user_id: int, meeting_id: int) -> bool:
    return db.session.scalar(select(CommunityFeedbackReceipt.id).where(
        CommunityFeedbackReceipt.meeting_id == meeting_id, CommunityFeedbackReceipt.user_id == user_id)) is not None


def _lock(meeting_id: int) -> None:
    """Serialise giving and releasing on one meeting (PostgreSQL row lock; SQLite writes one at a time)."""
    db.session.execute(select(CommunityMeeting.id).where(CommunityMeeting.id == meeting_id).with_for_update())


@dataclass(frozen=True)
class Invitation:
    """What the meeting page tells one person about giving feedback."""

    can_answer: bool
    message: str


def invitation_for(user, meeting: CommunityMeeting, settings: Settings, now: datetime) -> Invitation | None:
    """None when there is nothing to say (feedback off, the meeting did not take place, or the person is not
    in the community, such as a member of the programme team looking at it)."""
    if not settings.is_enabled or not any(m.user_id == user.id for m in meeting.community.memberships):
        return None
    state = window_state(meeting, now)
    if state == "withdrawn":
        return None
    if state == "not_yet":
        return Invitation(False, "You can give feedback once the meeting has ended.")
    if has_given(user.id, meeting.id):
        return Invitation(False, "You have given feedback on this meeting. Thank you.")
    if state == "closed":
        return Invitation(False, "Feedback on this meeting has closed.")
    if user.id not in present_ids(meeting):
        return Invitation(False, "The register does not show you as present at this meeting, so there is no feedback "
                                 "to give. If the register is wrong, ask a convener to correct it.")
    return Invitation(True, f"Tell the conveners how it went, by {clock.to_local(closes_at(meeting)):%-d %B}.")


# -- giving feedback ------------------------------------------------------------------------------

@dataclass
class Answers:
    rating: int | None = None
    worked: str = ""
    better: str = ""
    differently: str = ""
    extra: list[str] = field(default_factory=list)  # in the order of the community's own questions
    anonymous: bool = True


def _content(answers: Answers, settings: Settings) -> dict:
    if settings.asks(StandardQuestion.RATING) and answers.rating not in RATING_LABELS:
        raise DomainError("Say how worthwhile the meeting was, from 1 to 5.", field="rating")
    if answers.rating is not None and answers.rating not in RATING_LABELS:
        raise DomainError("Choose a number from 1 to 5.", field="rating")
    for question in TEXT_QUESTIONS:
        if len(getattr(answers, question.value) or "") > TEXT_LIMIT:
            raise DomainError(f"Keep this to {TEXT_LIMIT} characters.", field=question.value)
    extra = list(answers.extra or [])
    if any(len(a or "") > TEXT_LIMIT for a in extra):
        raise DomainError(f"Keep each answer to {TEXT_LIMIT} characters.", field="extra")
    content = {"rating": answers.rating if settings.asks(StandardQuestion.RATING) else None,
               "extra": [[q, (extra[i] if i < len(extra) else "").strip()]
                         for i, q in enumerate(settings.extra_questions)]}
    for question in TEXT_QUESTIONS:
        content[question.value] = (getattr(answers, question.value) or "").strip() if settings.asks(question) else ""
    content["extra"] = [pair for pair in content["extra"] if pair[1]]
    if content["rating"] is None and not any(content[q.value] for q in TEXT_QUESTIONS) and not content["extra"]:
        raise DomainError("Answer at least one question.", field="rating")
    return content


def _seal(content: dict) -> bytes:
    return sealing.seal_padded(_CONTEXT, json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode(),
                               SEAL_SIZE)


def _unseal(blob: bytes) -> dict:
    return json.loads(sealing.unseal_padded(_CONTEXT, blob).decode())


def give_feedback(*, actor, meeting: CommunityMeeting, answers: Answers, now: datetime) -> bool:
    """Someone the register shows present answers, once, from the meeting's end for 30 days. A named
    answer is written at once; an anonymous one is held back, sealed, until the meeting's feedback
    closes. Returns whether the answer was anonymous."""
    settings = settings_of(meeting.community_id)
    _lock(meeting.id)
    state = window_state(meeting, now)
    if not settings.is_enabled or state == "withdrawn":
        raise Conflict("There is no feedback form for this meeting.")
    if state == "not_yet":
        raise Conflict("You can give feedback once the meeting has ended.")
    if has_given(actor.id, meeting.id):
        raise Conflict("You have already given feedback on this meeting. Thank you.")
    if state == "closed":
        raise Conflict("Feedback on this meeting has closed.")
    if actor.id not in present_ids(meeting):
        raise Conflict("The register does not show you as present at this meeting, so there is no feedback to give. "
                       "If the register is wrong, ask a convener to correct it.")
    content = _content(answers, settings)
    anonymous = (settings.answers_are == AnswersAre.ANONYMOUS
                 or (settings.answers_are == AnswersAre.CHOICE and answers.anonymous))
    db.session.add(CommunityFeedbackReceipt(meeting_id=meeting.id, user_id=actor.id, given_at=now))
    if anonymous:
        db.session.add(CommunityFeedbackSealed(meeting_id=meeting.id, sealed=_seal(content)))
    else:
        db.session.add(CommunityFeedbackResponse(meeting_id=meeting.id, user_id=actor.id,
                                                 kind=ResponseKind.NAMED.value, **content))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("You have already given feedback on this meeting. Thank you.") from None
    cancel_pending(f"{KEY_PREFIX}:{meeting.id}:{actor.id}:")
    answered = set(db.session.scalars(select(CommunityFeedbackReceipt.user_id).where(
        CommunityFeedbackReceipt.meeting_id == meeting.id)))
    if present_ids(meeting) <= answered:
        release(meeting.id, now=now, reason=CommunityClosureReason.EVERYONE_ANSWERED)
    return anonymous


def add_paper_answers(*, actor, meeting: CommunityMeeting, answers: Answers, now: datetime) -> None:
    """A convener types in a paper form: an anonymous answer that names nobody (guests cannot be asked by
    the app). No more paper answers than people the register counts as there."""
    check_manager(actor, meeting.community)
    settings = settings_of(meeting.community_id)
    state = window_state(meeting, now)
    if state == "withdrawn":
        raise Conflict("This meeting did not take place, so it has no feedback.")
    if state == "not_yet":
        raise Conflict("Answers from paper forms can be added once the meeting has ended.")
    content = _content(answers, settings)
    online = len(db.session.scalars(select(CommunityFeedbackReceipt.user_id).where(
        CommunityFeedbackReceipt.meeting_id == meeting.id,
        CommunityFeedbackReceipt.user_id.in_(present_ids(meeting) or {-1}))).all())
    paper = db.session.scalar(select(func.count()).where(CommunityFeedbackResponse.meeting_id == meeting.id,
                                                         CommunityFeedbackResponse.kind == ResponseKind.PAPER.value))
    if online + paper >= meeting.headcount:
        raise Conflict(f"The register counts {meeting.headcount} people at this meeting and {online + paper} answers "
                       "are in already. Correct the register first if more people came.")
    db.session.add(CommunityFeedbackResponse(meeting_id=meeting.id, user_id=None, kind=ResponseKind.PAPER.value,
                                             **content))
    db.session.flush()
    audit.record(actor=actor, action="community_feedback_paper_added", target_type="community_meeting",
                 target_id=meeting.id, now=now)


def close_feedback(*, actor, meeting: CommunityMeeting, now: datetime) -> int:
    """A convener (or the team) closes a meeting's feedback early, releasing its anonymous answers."""
    check_manager(actor, meeting.community)
    state = window_state(meeting, now)
    if state in ("withdrawn", "not_yet"):
        raise Conflict("Feedback on a meeting can be closed only after it has been held.")
    if state == "closed":
        raise Conflict("Feedback on this meeting has already closed.")
    released = release(meeting.id, now=now, reason=CommunityClosureReason.CLOSED_BY_CONVENER)
    audit.record(actor=actor, action="community_feedback_closed", target_type="community_meeting",
                 target_id=meeting.id, now=now)
    return released


def release(meeting_id: int, *, now: datetime, reason: CommunityClosureReason) -> int:
    """Close a meeting's feedback and write out its anonymous answers together, shuffled. Returns how many.
    An answer that cannot be opened (SECRET_KEY changed) stays sealed and nothing closes."""
    _lock(meeting_id)
    if closure(meeting_id) is not None:
        return 0
    blobs = db.session.scalars(select(CommunityFeedbackSealed.sealed)
                               .where(CommunityFeedbackSealed.meeting_id == meeting_id)).all()
    try:
        answers = [_unseal(blob) for blob in blobs]
    except InvalidTag:
        current_app.logger.error("Anonymous feedback on community meeting %s could not be opened: was SECRET_KEY "
                                 "changed?", meeting_id)
        return 0
    db.session.add(CommunityFeedbackClosure(meeting_id=meeting_id, closed_at=now, reason=reason.value,
                                            released=len(answers)))
    db.session.flush()
    db.session.execute(delete(CommunityFeedbackSealed).where(CommunityFeedbackSealed.meeting_id == meeting_id))
    sealing.write_out_shuffled(CommunityFeedbackResponse, [
        {"meeting_id": meeting_id, "user_id": None, "kind": ResponseKind.ANONYMOUS.value, **answer}
        for answer in answers])
    return len(answers)


def release_due(now: datetime) -> int:
    """Job: release the held-back answers of every meeting whose feedback closed by time, or that no
    longer stands as held (postponed or cancelled). Returns how many answers were released."""
    meetings = db.session.scalars(select(CommunityMeeting).where(
        CommunityMeeting.id.in_(select(CommunityFeedbackSealed.meeting_id).distinct()))).all()
    released = 0
    for meeting in meetings:
        if meeting.status in (MeetingStatus.POSTPONED, MeetingStatus.CANCELLED):
            released += release(meeting.id, now=now, reason=CommunityClosureReason.MEETING_WITHDRAWN)
        elif now > closes_at(meeting):
            released += release(meeting.id, now=now, reason=CommunityClosureReason.WINDOW_ENDED)
    return released


# -- results --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Figures:
    """One meeting's counts. `answered` counts people the register shows present who answered in the app
    (a receipt from someone later marked absent does not count) plus paper forms, never above `present`
    (named present plus guests counted without names)."""

    present: int
    named_present: int
    answered: int
    named: int
    anonymous: int
    paper: int
    ratings: int  # the ratings in the average: named ones, and anonymous or paper ones from groups shown
    rating_total: int

    @property
    def average_rating(self) -> float | None:
        return round(self.rating_total / self.ratings, 1) if self.ratings else None

    @property
    def anonymous_shown(self) -> bool:
        return self.anonymous >= SMALL_GROUP

    @property
    def paper_shown(self) -> bool:
        return self.paper >= SMALL_GROUP


def _figures_query(meeting_ids: list[int]):
    meeting, register, receipt, response = (CommunityMeeting, MeetingAttendance, CommunityFeedbackReceipt,
                                            CommunityFeedbackResponse)
    present = RegisterStatus.PRESENT.value

    def count_of(*where):
        return select(func.count()).where(*where).correlate(meeting).scalar_subquery()

    def of_kind(kind: ResponseKind, what):
        return (select(what).where(response.meeting_id == meeting.id, response.kind == kind.value)
                .correlate(meeting).scalar_subquery())

    named_present = count_of(register.meeting_id == meeting.id, register.status == present)
    answered = (select(func.count()).select_from(receipt)
                .join(register, and_(register.meeting_id == receipt.meeting_id, register.user_id == receipt.user_id,
                                     register.status == present))
                .where(receipt.meeting_id == meeting.id).correlate(meeting).scalar_subquery())
    columns = [meeting.id, meeting.guest_count, named_present, answered]
    for kind in (ResponseKind.NAMED, ResponseKind.ANONYMOUS, ResponseKind.PAPER):
        columns += [of_kind(kind, func.count()), of_kind(kind, func.count(response.rating)),
                    of_kind(kind, func.sum(response.rating))]
    return select(*columns).where(meeting.id.in_(meeting_ids))


def figures_for(meeting_ids: list[int]) -> dict[int, Figures]:
    """Every meeting's figures in one query."""
    if not meeting_ids:
        return {}
    result = {}
    for (mid, guests, named_present, online, named, named_rated, named_sum, anonymous, anon_rated, anon_sum,
         paper, paper_rated, paper_sum) in db.session.execute(_figures_query(list(meeting_ids))).all():
        present = named_present + (guests or 0)
        ratings, total = named_rated, named_sum or 0
        if anonymous >= SMALL_GROUP:
            ratings, total = ratings + anon_rated, total + (anon_sum or 0)
        if paper >= SMALL_GROUP:
            ratings, total = ratings + paper_rated, total + (paper_sum or 0)
        result[mid] = Figures(present=present, named_present=named_present, answered=min(online + paper, present),
                              named=named, anonymous=anonymous, paper=paper, ratings=ratings, rating_total=total)
    return result


def meeting_feedback_figures(meeting_ids) -> dict[int, tuple[int, int, float | None]]:
    """{meeting_id: (answered, present, average_rating or None)} in one query, for reports.

    `present`: named members present plus guests counted without names; `answered`: of them, those who
    answered in the app or on a paper form, never above `present`. The average (1 to 5, one decimal) is
    of named ratings, and of anonymous or paper ratings only where at least 3 of that kind came in (fewer
    could be traced to who gave them); None when there is no rating to average. Anonymous answers still
    held back count in `answered` but not in the average.
    """
    return {mid: (f.answered, f.present, f.average_rating) for mid, f in figures_for(list(meeting_ids)).items()}


def held_count(meeting_id: int) -> int:
    return db.session.scalar(select(func.count()).where(CommunityFeedbackSealed.meeting_id == meeting_id)) or 0


@dataclass
class Results:
    figures: Figures
    held: int
    closed: CommunityFeedbackClosure | None
    named: list[CommunityFeedbackResponse]
    anonymous: list[CommunityFeedbackResponse]  # empty unless there are enough to show
    paper: list[CommunityFeedbackResponse]
    rating_counts: dict[int, int]


def results(*, actor, meeting: CommunityMeeting) -> Results:
    """What a convener or the team sees of a meeting's feedback (a fixed number of queries)."""
    check_manager(actor, meeting.community)
    figures = figures_for([meeting.id])[meeting.id]
    responses = db.session.scalars(select(CommunityFeedbackResponse).where(
        CommunityFeedbackResponse.meeting_id == meeting.id).order_by(CommunityFeedbackResponse.key)
        .options(selectinload(CommunityFeedbackResponse.user))).all()
    named = [r for r in responses if r.kind == ResponseKind.NAMED]
    anonymous = [r for r in responses if r.kind == ResponseKind.ANONYMOUS] if figures.anonymous_shown else []
    paper = [r for r in responses if r.kind == ResponseKind.PAPER] if figures.paper_shown else []
    counts = dict.fromkeys(sorted(RATING_LABELS, reverse=True), 0)
    for response in named + anonymous + paper:
        if response.rating:
            counts[response.rating] += 1
    return Results(figures=figures, held=held_count(meeting.id), closed=closure(meeting.id), named=named,
                   anonymous=anonymous, paper=paper, rating_counts=counts)


def meetings_with_feedback_open(now: datetime) -> list[CommunityMeeting]:
    """Meetings whose feedback may be open now (for the request planner), with their communities and registers."""
    earliest = now - FEEDBACK_WINDOW - timedelta(days=1)
    return list(db.session.scalars(select(CommunityMeeting).where(
        CommunityMeeting.status.in_([MeetingStatus.PLANNED.value, MeetingStatus.HELD.value]),
        CommunityMeeting.meets_on >= clock.to_local(earliest).date(),
        CommunityMeeting.meets_on <= clock.to_local(now).date(),
        ~CommunityMeeting.id.in_(select(CommunityFeedbackClosure.meeting_id)))
        .options(selectinload(CommunityMeeting.register), selectinload(CommunityMeeting.community))))


def settings_by_community(community_ids) -> dict[int, Settings]:
    ids = list(set(community_ids))
    rows = {row.community_id: row for row in db.session.scalars(select(CommunityFeedbackSetting).where(
        CommunityFeedbackSetting.community_id.in_(ids or [-1])))}
    return {cid: (Settings() if cid not in rows else Settings(
        rows[cid].is_enabled, tuple(rows[cid].questions or ()), tuple(rows[cid].extra_questions or ()),
        rows[cid].answers_are)) for cid in ids}

