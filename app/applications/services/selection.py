"""Review and selection: scores, decisions, releasing outcomes, offers and the waiting list."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from app import audit
from app.applications.models import (
    Application,
    ApplicationStatus,
    Decision,
    Review,
)
from app.applications.services._shared import (
    change_status,
    notify_team_place_free,
    queue_applications_email,
    require_applicant,
    require_team,
)
from app.auth.models import User
from app.db import db
from app.errors import Conflict, DomainError
from app.programme.models import Cohort, CohortStatus
from app.programme.services import enrol
from app.urls import absolute_url

# -- review and selection --------------------------------------------------------------------

def score_application(*, actor: User, application: Application, boundary: int, ambition: int, readiness: int,
                      comment: str = "") -> Review:
    """One reviewer's scores (1-5 each). Scoring again replaces your earlier scores."""
    require_team(actor)
    if application.status in (ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN):
        raise Conflict("Only submitted applications can be scored.")
    for name, value in (("boundary", boundary), ("ambition", ambition), ("readiness", readiness)):
        if value not in range(1, 6):
            raise DomainError("Each score must be from 1 to 5.", field=name)
    review = db.session.scalar(select(Review).where(Review.application_id == application.id,
                                                    Review.reviewer_id == actor.id))
    if review is None:
        review = Review(application=application, reviewer=actor, boundary_score=boundary, ambition_score=ambition,
                        readiness_score=readiness, comment=comment.strip())
        db.session.add(review)
    else:
        review.boundary_score, review.ambition_score, review.readiness_score = boundary, ambition, readiness
        review.comment = comment.strip()
    db.session.flush()
    return review


def places_taken(cohort: Cohort, now: datetime) -> int:
    """Accepted places, live offers, and offers decided but not yet released."""
    return db.session.scalar(
        select(func.count()).select_from(Application).where(
            Application.cohort_id == cohort.id,
            (Application.status == ApplicationStatus.ACCEPTED.value)
            | ((Application.status == ApplicationStatus.OFFERED.value) & (Application.offer_expires_at > now))
            | ((Application.status == ApplicationStatus.SPONSOR_APPROVED.value)
               & (Application.decision == Decision.OFFER.value))
        )
    )


def set_decision(*, actor: User, application: Application, decision: Decision | None, now: datetime) -> None:
    """Mark an approved application to be offered, waitlisted or turned down when outcomes are released."""
    require_team(actor)
    if application.status != ApplicationStatus.SPONSOR_APPROVED:
        raise Conflict("Only complete applications that the line manager has approved can be selected. "
                       f"This one is: {application.status_label.lower()}.")
    if decision == Decision.OFFER and application.decision != Decision.OFFER:
        if places_taken(application.cohort, now) >= application.cohort.capacity:
            raise Conflict(f"All {application.cohort.capacity} places are taken. Waitlist this application, or "
                           "change another decision first.")
    before = application.decision
    application.decision = decision.value if decision else None
    audit.record(actor=actor, action="selection_decision", target_type="application", target_id=application.id,
                 detail={"from": before, "to": application.decision}, now=now)
    db.session.flush()


def release_outcomes(*, actor: User, cohort: Cohort, now: datetime) -> dict[str, int]:
    """Tell every decided applicant their outcome at once, and open the offers."""
    require_team(actor)
    decided = list(db.session.scalars(
        select(Application).where(Application.cohort_id == cohort.id,
                                  Application.status == ApplicationStatus.SPONSOR_APPROVED.value,
                                  Application.decision.is_not(None))
    ))
    if not decided:
        raise Conflict("There are no decisions waiting to be released.")
    counts = {d.value: 0 for d in Decision}
    next_rank = (db.session.scalar(select(func.max(Application.waitlist_rank))
                                   .where(Application.cohort_id == cohort.id)) or 0) + 1
    waitlist = sorted((a for a in decided if a.decision == Decision.WAITLIST),
                      key=lambda a: (-(a.mean_score or 0), a.submitted_at or now, a.id))
    for application in waitlist:
        application.waitlist_rank = next_rank
        next_rank += 1
    for application in decided:
        decision = Decision(application.decision)
        counts[decision.value] += 1
        application.outcome_released_at = now
        if decision == Decision.OFFER:
            _make_offer(application, actor=actor, now=now)
        elif decision == Decision.WAITLIST:
            change_status(application, ApplicationStatus.WAITLISTED, actor=actor, now=now)
            queue_applications_email(key=f"outcome:{application.id}:waitlisted", to=application.applicant.email, template="waitlisted",
                   subject="Your application: the waiting list", now=now, application=application,
                   link=absolute_url("applications.status", application_id=application.id))
        else:
            change_status(application, ApplicationStatus.UNSUCCESSFUL, actor=actor, now=now)
            queue_applications_email(key=f"outcome:{application.id}:unsuccessful", to=application.applicant.email,
                   template="unsuccessful", subject="Your application", now=now, application=application)
    if cohort.status in (CohortStatus.DRAFT, CohortStatus.OPEN):
        cohort.status = CohortStatus.SELECTING.value
    audit.record(actor=actor, action="outcomes_released", target_type="cohort", target_id=cohort.id,
                 detail=counts, now=now)
    db.session.flush()
    return counts


def _make_offer(application: Application, *, actor: User, now: datetime) -> None:
    application.offer_expires_at = now + timedelta(days=application.cohort.offer_response_days)
    application.decision = Decision.OFFER.value
    change_status(application, ApplicationStatus.OFFERED, actor=actor, now=now)
    queue_applications_email(key=f"outcome:{application.id}:offered:{int(now.timestamp())}", to=application.applicant.email,
           template="offered", subject="You have been offered a place", now=now, application=application,
           link=absolute_url("applications.status", application_id=application.id))


def next_on_waitlist(cohort: Cohort) -> Application | None:
    return db.session.scalars(
        select(Application).where(Application.cohort_id == cohort.id,
                                  Application.status == ApplicationStatus.WAITLISTED.value)
        .order_by(Application.waitlist_rank, Application.id).limit(1)
    ).first()


def offer_to_next(*, actor: User, cohort: Cohort, now: datetime) -> Application:
    """Offer a free place to the first person on the waiting list (the team confirms this)."""
    require_team(actor)
    if places_taken(cohort, now) >= cohort.capacity:
        raise Conflict("There is no free place to offer.")
    application = next_on_waitlist(cohort)
    if application is None:
        raise Conflict("Nobody is on the waiting list.")
    application.waitlist_rank = None
    _make_offer(application, actor=actor, now=now)
    audit.record(actor=actor, action="offered_from_waitlist", target_type="application", target_id=application.id,
                 now=now)
    db.session.flush()
    return application


def respond_to_offer(*, actor: User, application: Application, accept: bool, now: datetime) -> None:
    """Accept (which enrols the applicant) or decline an offered place."""
    require_applicant(actor, application)
    if application.status != ApplicationStatus.OFFERED:
        raise Conflict("There is no open offer on this application.")
    if application.offer_expires_at and application.offer_expires_at <= now:
        raise Conflict("This offer has lapsed. Contact the programme team if you still want a place.")
    if accept:
        change_status(application, ApplicationStatus.ACCEPTED, actor=actor, now=now)
        enrol(cohort=application.cohort, user=application.applicant, now=now)
        queue_applications_email(key=f"offer-accepted:{application.id}", to=application.applicant.email, template="accepted",
               subject="Welcome to the programme", now=now, application=application,
               link=absolute_url("programme.home"))
    else:
        application.decision = None
        change_status(application, ApplicationStatus.DECLINED, actor=actor, now=now)
        notify_team_place_free(application, now=now)
    db.session.flush()
