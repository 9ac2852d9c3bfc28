"""Feedback entered after the fact: a year run on spreadsheets, imported so its report can be made.

The file has the columns of the feedback download (Session, Date, Worthwhile use of time (1-5),
Would recommend, What worked, What to change, Quote, Quote may be used, Value, Respondent). A preview
says what each row would do and saves nothing. Importing writes a named answer with its receipt (given
when the session ended); answers without a name go in together, shuffled, with no receipt (nobody
knows whose they are) and are counted on the session's closure as responses. Importing into a
session closes its feedback: what was held back is released with the same guarantees.
"""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import insert, select

from app import clock
from app.auth.models import User
from app.db import db
from app.errors import DomainError, PermissionDenied
from app.evaluation import anonymity
from app.evaluation.feedback import TEXT_LIMIT
from app.evaluation.models import (
    ClosureReason,
    FeedbackClosure,
    FeedbackReceipt,
    FeedbackResponse,
    RecommendScale,
    ValueCycle,
    _random_key,
)
from app.exports import from_cell
from app.programme.models import Cohort, Enrolment, ProgrammeSession, SessionStatus

REQUIRED = ("session", "date", "worthwhile use of time (1-5)", "would recommend", "respondent")
ANONYMOUS = {"", "anonymous"}
_YES, _NO = {"yes", "y", "true"}, {"no", "n", "false"}


@dataclass
class FeedbackRow:
    line: int
    session: str
    day: str
    respondent: str
    outcome: str = "rejected"  # "add" or "rejected"
    message: str = ""
    session_id: int | None = None
    enrolment_id: int | None = None
    answer: dict = field(default_factory=dict)


def _day(value: str) -> date | None:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def _recommend(value: str) -> tuple[str, bool | None, int | None] | None:
    lowered = value.lower()
    if lowered in _YES or lowered in _NO:
        return RecommendScale.YES_NO.value, lowered in _YES, None
    if lowered.isdigit() and 0 <= int(lowered) <= 10:
        return RecommendScale.ZERO_TEN.value, None, int(lowered)
    return None


def preview_feedback_import(*, cohort: Cohort, text: str, now: datetime) -> list[FeedbackRow]:
    """What importing a feedback spreadsheet would add, row by row. Writes nothing."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    headers = {h.strip().lower(): h for h in (reader.fieldnames or [])}
    missing = [h for h in REQUIRED if h not in headers]
    if missing:
        raise DomainError("The file needs the columns of the feedback download: Session, Date, Worthwhile use of "
                          "time (1-5), Would recommend and Respondent (and optionally What worked, What to change, "
                          f"Quote, Quote may be used, Value). Missing: {', '.join(missing)}.", field="file")
    sessions: dict[tuple[str, date], ProgrammeSession] = {}
    for session in db.session.scalars(select(ProgrammeSession).where(ProgrammeSession.cohort_id == cohort.id)):
        sessions[(session.title.strip().lower(), clock.to_local(session.starts_at, cohort.timezone).date())] = session
    people: dict[str, int] = {}
    for enrolment_id, email, name in db.session.execute(
            select(Enrolment.id, User.email, User.name).join(User, User.id == Enrolment.user_id)
            .where(Enrolment.cohort_id == cohort.id)):
        people[email.lower()] = enrolment_id
        people.setdefault(name.strip().lower(), enrolment_id)
    answered = {(sid, eid) for sid, eid in db.session.execute(
        select(FeedbackReceipt.session_id, FeedbackReceipt.enrolment_id).join(
            ProgrammeSession, ProgrammeSession.id == FeedbackReceipt.session_id)
        .where(ProgrammeSession.cohort_id == cohort.id))}
    # Unnamed answers cannot be told apart from ones already here, so a session that has feedback in
    # Convene takes no more of them (re-importing the feedback download would double them).
    has_feedback = {sid for sid, _ in answered} | set(db.session.scalars(
        select(FeedbackResponse.session_id).join(ProgrammeSession, ProgrammeSession.id == FeedbackResponse.session_id)
        .where(ProgrammeSession.cohort_id == cohort.id).distinct()))
    cycles = {c.value for c in ValueCycle}
    result = []
    for line, raw in enumerate(reader, start=2):
        value = {name: from_cell((raw.get(original) or "").strip()) for name, original in headers.items()}
        if not any(value.values()):
            continue
        row = FeedbackRow(line, value.get("session", ""), value.get("date", ""), value.get("respondent", ""))
        result.append(row)
        day = _day(row.day)
        session = sessions.get((row.session.lower(), day)) if day else None
        worthwhile = value.get("worthwhile use of time (1-5)", "")
        recommend = _recommend(value.get("would recommend", ""))
        chosen = [c.strip().lower() for c in value.get("value", "").split(",") if c.strip()]
        who = row.respondent.lower()
        texts = {k: value.get(k, "") for k in ("what worked", "what to change", "quote")}
        if day is None:
            row.message = f"{row.day or 'An empty date'} is not a date: use 2026-11-16 or 16/11/2026"
        elif session is None:
            row.message = "No session of this cohort has that title on that date"
        elif session.status != SessionStatus.SCHEDULED or session.ends_at > now:
            row.message = f"That session {'has not ended yet' if session.ends_at > now else 'was not held'}"
        elif worthwhile not in {"1", "2", "3", "4", "5"}:
            row.message = "Worthwhile use of time must be a number from 1 to 5"
        elif recommend is None:
            row.message = "Would recommend must be Yes, No or a number from 0 to 10"
        elif set(chosen) - cycles:
            row.message = f"Value must be from: {', '.join(c.value for c in ValueCycle)}"
        elif any(len(t) > TEXT_LIMIT for t in texts.values()):
            row.message = f"Keep each answer to {TEXT_LIMIT} characters"
        elif who not in ANONYMOUS and who not in people:
            row.message = f"{row.respondent} is not a participant of {cohort.name} (give their email, or Anonymous)"
        elif who not in ANONYMOUS and (session.id, people[who]) in answered:
            row.message = "This person's feedback on that session is already recorded"
        elif who in ANONYMOUS and session.id in has_feedback:
            row.message = ("That session already has feedback recorded here, and an answer without a name "
                           "could be one of those: it is not imported")
        else:
            scale, yes, score = recommend
            row.outcome, row.session_id = "add", session.id
            row.enrolment_id = None if who in ANONYMOUS else people[who]
            if row.enrolment_id is not None:
                answered.add((session.id, row.enrolment_id))
            row.answer = dict(worthwhile=int(worthwhile), recommend_scale=scale, recommend_yes=yes,
                              recommend_score=score, what_worked=texts["what worked"],
                              what_to_change=texts["what to change"], quote=texts["quote"],
                              quote_consent=bool(texts["quote"]) and value.get("quote may be used", "").lower() in _YES,
                              value_cycles=[c.value for c in ValueCycle if c.value in chosen])
    return result


def import_feedback(*, actor, cohort: Cohort, text: str, now: datetime) -> int:
    """Add every acceptable row (rejected rows are skipped). Returns how many answers were added."""
    if not actor.is_team:
        raise PermissionDenied("Only the programme team imports feedback.")
    by_session: dict[int, list[FeedbackRow]] = defaultdict(list)
    for row in preview_feedback_import(cohort=cohort, text=text, now=now):
        if row.outcome == "add":
            by_session[row.session_id].append(row)
    for session_id, rows in by_session.items():
        session = db.session.get(ProgrammeSession, session_id)
        if anonymity.closure(session_id) is None:
            anonymity.release(session_id, now=now, reason=ClosureReason.IMPORTED)
        closure = db.session.get(FeedbackClosure, session_id)
        unnamed = [r.answer for r in rows if r.enrolment_id is None]
        for row in rows:
            if row.enrolment_id is not None:
                db.session.add(FeedbackReceipt(session_id=session_id, enrolment_id=row.enrolment_id,
                                               given_at=session.ends_at))
                db.session.add(FeedbackResponse(session_id=session_id, enrolment_id=row.enrolment_id, **row.answer))
        if unnamed:
            random.SystemRandom().shuffle(unnamed)
            db.session.execute(insert(FeedbackResponse), [
                {"key": _random_key(), "session_id": session_id, "enrolment_id": None, **answer} for answer in unnamed])
            closure.imported_unnamed += len(unnamed)
    db.session.flush()
    return sum(len(rows) for rows in by_session.values())
