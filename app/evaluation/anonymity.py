"""Anonymous answers that stay anonymous for someone holding the whole database.

Who answered (a `FeedbackReceipt`, written at once) and what an anonymous answer said must not be
linkable: not by a column, nor by the order rows were written (SQLite's rowid, PostgreSQL's ctid),
the transaction that wrote them (PostgreSQL's xmin), a timestamp, a sequence, or the write-ahead
log. So an anonymous answer is first **sealed**: encrypted with AES-GCM under a key derived from
the app's SECRET_KEY (which is not in the database) and padded to one fixed size, so neither its
words nor its length can be read from the row or the log. When the session's feedback closes (30
days after it ends, when everyone who could answer has answered, when the team closes it, or when
the session no longer stands as held) every sealed answer of the session is opened and written out
as a `FeedbackResponse` in **one transaction, in a shuffled order, with fresh random keys**, and
the sealed rows are deleted by one statement. Every released answer then shares one transaction,
and their physical order is a random permutation, unrelated to the order of the receipts.

What this does not hide: who answered and when (the receipts); whether someone chose to be named;
and, where only one or two people answered a session anonymously, the team can narrow down who
they were from who answered (the privacy notice says so). Someone who controls the running server
(its SECRET_KEY as well as the database) could open sealed answers before they are released.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime

from cryptography.exceptions import InvalidTag
from flask import current_app
from sqlalchemy import delete, func, select

from app import sealing
from app.db import db
from app.evaluation.models import ClosureReason, FeedbackClosure, FeedbackResponse, SealedFeedback
from app.programme.models import ProgrammeSession

# Every sealed answer is padded to this many bytes before encryption: three free-text answers of
# 2,000 characters, even if every character were escaped in JSON (6 bytes), fit with room to spare.
SEAL_SIZE = 40_960
_CONTEXT = b"convene anonymous feedback v1"


@dataclass
class HeldAnswer:
    """The columns of an anonymous `FeedbackResponse`, as sealed."""

    worthwhile: int | None
    recommend_scale: str
    recommend_yes: bool | None
    recommend_score: int | None
    what_worked: str = ""
    what_to_change: str = ""
    quote: str = ""
    quote_consent: bool = False
    value_cycles: list[str] = field(default_factory=list)


def seal(answer: HeldAnswer) -> bytes:
    data = json.dumps(asdict(answer), ensure_ascii=False, separators=(",", ":")).encode()
    return sealing.seal_padded(_CONTEXT, data, SEAL_SIZE)  # cannot be too long within the form's limits


def unseal(blob: bytes) -> HeldAnswer:
    return HeldAnswer(**json.loads(sealing.unseal_padded(_CONTEXT, blob).decode()))


def hold(session_id: int, answer: HeldAnswer) -> None:
    db.session.add(SealedFeedback(session_id=session_id, sealed=seal(answer)))


def lock_session(session_id: int) -> None:
    """Serialise giving and releasing on one session (PostgreSQL row lock; SQLite writes one at a time)."""
    db.session.execute(select(ProgrammeSession.id).where(ProgrammeSession.id == session_id).with_for_update())


def closure(session_id: int) -> FeedbackClosure | None:
    return db.session.get(FeedbackClosure, session_id)


def held_counts(session_ids: list[int]) -> dict[int, int]:
    """How many anonymous answers each session holds back (counts only; nothing of what they say)."""
    if not session_ids:
        return {}
    return dict(db.session.execute(select(SealedFeedback.session_id, func.count())
                                   .where(SealedFeedback.session_id.in_(session_ids))
                                   .group_by(SealedFeedback.session_id)).all())


def release(session_id: int, *, now: datetime, reason: ClosureReason) -> int:
    """Close a session's feedback and write out its anonymous answers together, shuffled.

    Returns how many were released. The closure row is written first, so a second release racing
    this one waits on it and then fails rather than writing the answers twice. An answer that
    cannot be opened (the SECRET_KEY changed) stays sealed and the closure is not written, so
    nothing is lost: restoring the old key and running the release again brings it back.
    """
    lock_session(session_id)
    if closure(session_id) is not None:
        return 0  # released already (giving takes the same lock, so nothing can be sealed after)
    rows = db.session.execute(select(SealedFeedback.key, SealedFeedback.sealed)
                              .where(SealedFeedback.session_id == session_id)).all()
    try:
        answers = [unseal(blob) for _key, blob in rows]
    except InvalidTag:
        current_app.logger.error("Anonymous feedback on session %s could not be opened: was SECRET_KEY changed?",
                                 session_id)
        return 0
    db.session.add(FeedbackClosure(session_id=session_id, closed_at=now, reason=reason.value, released=len(answers)))
    db.session.flush()
    _write_out(session_id, answers)
    return len(answers)


def _write_out(session_id: int, answers: list[HeldAnswer]) -> None:
    db.session.execute(delete(SealedFeedback).where(SealedFeedback.session_id == session_id))
    sealing.write_out_shuffled(FeedbackResponse, [{"session_id": session_id, "enrolment_id": None, **asdict(answer)}
                                                  for answer in answers])
