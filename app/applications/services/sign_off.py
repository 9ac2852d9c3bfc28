"""The line manager's answer: opening the emailed link, and recording a decision once."""


from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from app import audit
from app.applications.models import (
    Application,
    ApplicationStatus,
    SponsorApproval,
    SponsorDecision,
)
from app.applications.services._shared import change_status, queue_applications_email, require_team
from app.applications.services.applying import pending_approval, stop_chasers
from app.auth.models import User
from app.db import db
from app.errors import Conflict, DomainError, InvalidToken
from app.tokens import hash_token
from app.urls import absolute_url

# -- the line manager ------------------------------------------------------------------------

@dataclass(frozen=True)
class SponsorLink:
    approval: SponsorApproval
    state: str  # pending | decided | expired | superseded


def open_sponsor_link(*, token: str, now: datetime) -> SponsorLink:
    """What a line manager's link shows. Opening it never changes anything."""
    approval = db.session.scalar(select(SponsorApproval).where(SponsorApproval.token_hash == hash_token(token)))
    if approval is None:
        raise InvalidToken("This link is not valid. Check you used the whole link from the email.")
    if approval.decision == SponsorDecision.SUPERSEDED:
        return SponsorLink(approval, "superseded")
    if not approval.is_pending:
        return SponsorLink(approval, "decided")
    if approval.is_expired(now):
        return SponsorLink(approval, "expired")
    return SponsorLink(approval, "pending")


def record_sponsor_decision(*, token: str, approve: bool, confirms_release: bool, comment: str,
                            now: datetime) -> SponsorApproval:
    """The line manager's answer, recorded once. A second answer (or a race) changes nothing."""
    link = open_sponsor_link(token=token, now=now)
    approval = link.approval
    if link.state == "superseded":
        raise InvalidToken("This link has been replaced by a newer one, so it can no longer be used.")
    if link.state == "expired":
        raise InvalidToken("This link has expired.")
    if link.state == "decided":
        raise Conflict("A response has already been recorded for this application.")
    comment = comment.strip()[:2000]
    if approve and not confirms_release:
        raise DomainError("Confirm that the organisation will release them for at least 10 days.",
                          field="confirms_release")
    if not approve and not comment:
        raise DomainError("Give a reason for not supporting the application.", field="comment")
    return _decide(approval, approve=approve, confirms_release=confirms_release, comment=comment, now=now)


def _decide(approval: SponsorApproval, *, approve: bool, confirms_release: bool, comment: str, now: datetime,
            recorded_by: User | None = None, reason: str = "") -> SponsorApproval:
    decision = SponsorDecision.APPROVED if approve else SponsorDecision.DECLINED
    # Conditional update: of two simultaneous answers, only one finds the request still pending.
    claimed = db.session.execute(
        update(SponsorApproval)
        .where(SponsorApproval.id == approval.id, SponsorApproval.decision == SponsorDecision.PENDING.value)
        .values(decision=decision.value, confirms_release=confirms_release, comment=comment, decided_at=now,
                recorded_by_id=getattr(recorded_by, "id", None), recorded_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise Conflict("A response has already been recorded for this application.")
    db.session.refresh(approval)
    stop_chasers(approval)
    application = approval.application
    status = ApplicationStatus.SPONSOR_APPROVED if approve else ApplicationStatus.SPONSOR_DECLINED
    note = f"Recorded by the programme team: {reason}" if recorded_by else ""
    change_status(application, status, actor=recorded_by, now=now, note=note)
    queue_applications_email(key=f"sponsor-decided:{approval.id}", to=application.applicant.email, template="sponsor_decided",
           subject="Your line manager has responded", now=now, application=application, approval=approval,
           link=absolute_url("applications.status", application_id=application.id))
    db.session.flush()
    return approval


def record_sponsor_decision_for(*, actor: User, application: Application, approve: bool, reason: str,
                                comment: str = "", now: datetime) -> SponsorApproval:
    """The team records the line manager's answer on their behalf (for example, given by phone)."""
    require_team(actor)
    reason = reason.strip()
    if not reason:
        raise DomainError("Say why you are recording this on the line manager's behalf.", field="reason")
    approval = pending_approval(application)
    approval = _decide(approval, approve=approve, confirms_release=approve, comment=comment.strip(), now=now,
                       recorded_by=actor, reason=reason)
    audit.record(actor=actor, action="sponsor_decision_on_behalf", target_type="application",
                 target_id=application.id, detail={"decision": approval.decision, "reason": reason}, now=now)
    return approval
