"""Review and selection: scores, decisions, releasing outcomes, offers and the waiting list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app, render_template
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app import audit, clock
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
from app.applications.services.listing import mix
from app.applications.services.reviewing import require_reviewer
from app.auth.models import User
from app.db import db
from app.errors import Conflict, DomainError
from app.programme.models import Cohort, CohortStatus
from app.programme.services import enrol
from app.urls import absolute_url

# -- review and selection --------------------------------------------------------------------

def score_application(*, actor: User, application: Application, boundary: int, ambition: int, readiness: int,
                      comment: str = "") -> Review:
    """One reviewer's scores (1-5 each): the team, or a reviewer assigned to the application. Scoring
    again replaces your earlier scores."""
    require_reviewer(actor, application)
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


@dataclass
class SelectionOverview:
    """The figures beside the selection pool: places taken, the mix of those offered a place (or to be),
    decisions not yet released, and who is next on the waiting list."""

    taken: int
    mix: dict[str, dict[str, int]]
    unreleased: int
    next_waiting: Application | None


def selection_overview(cohort: Cohort, pool: list[Application], now: datetime) -> SelectionOverview:
    offered = [a for a in pool if a.status in (ApplicationStatus.OFFERED, ApplicationStatus.ACCEPTED)
               or (a.status == ApplicationStatus.SPONSOR_APPROVED and a.decision == Decision.OFFER)]
    unreleased = sum(1 for a in pool if a.status == ApplicationStatus.SPONSOR_APPROVED and a.decision)
    return SelectionOverview(taken=places_taken(cohort, now), mix=mix(offered), unreleased=unreleased,
                             next_waiting=next_on_waitlist(cohort))


def set_decision(*, actor: User, application: Application, decision: Decision | None, now: datetime) -> None:
    """Mark an approved application to be offered, waitlisted or turned down when outcomes are released."""
    set_decisions(actor=actor, applications=[application], decision=decision, now=now)


def set_decisions(*, actor: User, applications: list[Application], decision: Decision | None, now: datetime) -> int:
    """The same decision for several approved applications at once (all or none). Returns how many changed."""
    require_team(actor)
    if not applications:
        raise DomainError("Tick the applications this decision is for.", field="applications")
    cohorts = {a.cohort_id for a in applications}
    if len(cohorts) != 1:
        raise DomainError("Decide on one cohort's applications at a time.", field="applications")
    for application in applications:
        if application.status != ApplicationStatus.SPONSOR_APPROVED:
            raise Conflict("Only complete applications that the line manager has approved can be selected. "
                           f"{application.applicant.name}'s is: {application.status_label.lower()}.")
    cohort = applications[0].cohort
    if decision == Decision.OFFER:
        new_offers = sum(1 for a in applications if a.decision != Decision.OFFER)
        free = cohort.capacity - places_taken(cohort, now)
        if new_offers > free:
            raise Conflict(f"All {cohort.capacity} places are taken." if free <= 0 and len(applications) == 1 else
                           f"Only {max(free, 0)} of {cohort.capacity} places are free, and this would offer "
                           f"{new_offers} more. Waitlist some, or change another decision first.")
    changed = 0
    for application in applications:
        before = application.decision
        after = decision.value if decision else None
        if before == after:
            continue
        application.decision = after
        changed += 1
        audit.record(actor=actor, action="selection_decision", target_type="application", target_id=application.id,
                     detail={"from": before, "to": after}, now=now)
    db.session.flush()
    return changed


def end_of_day(day: date, tz: str) -> datetime:
    """The last minute of a day in the cohort's time zone, as a UTC instant (an offer's deadline)."""
    return clock.local_instant(day, time(23, 59), tz)


def default_offer_deadline(cohort: Cohort, now: datetime) -> date:
    return clock.to_local(now, cohort.timezone).date() + timedelta(days=cohort.offer_response_days)


@dataclass
class OutcomeMessages:
    """The team's own words for each outcome's email, added after its first paragraph."""

    offer: str = ""
    waitlist: str = ""
    unsuccessful: str = ""

    def for_decision(self, decision: Decision) -> str:
        return getattr(self, decision.value).strip()


OUTCOME_EMAILS = {Decision.OFFER: ("offered", "You have been offered a place"),
                  Decision.WAITLIST: ("waitlisted", "Your application: the waiting list"),
                  Decision.UNSUCCESSFUL: ("unsuccessful", "Your application")}


def outcome_email(application: Application, decision: Decision, *, message: str, offer_expires_at: datetime | None,
                  now: datetime) -> tuple[str, str, dict]:
    """The template, subject and context of the email an outcome sends (for the preview and the release)."""
    template, subject = OUTCOME_EMAILS[decision]
    context = dict(application=application, message=message.strip(), offer_expires_at=offer_expires_at,
                   link=absolute_url("applications.status", application_id=application.id))
    return template, subject, context


def preview_outcome(application: Application, decision: Decision, *, message: str, offer_expires_at: datetime | None,
                    now: datetime) -> tuple[str, str]:
    """The subject and plain text of one outcome email, exactly as it would be sent."""
    template, subject, context = outcome_email(application, decision, message=message,
                                               offer_expires_at=offer_expires_at, now=now)
    context.setdefault("programme_name", current_app.config["PROGRAMME_NAME"])
    return subject, render_template(f"applications/email/{template}.txt", **context)


def outcome_previews(pool: list[Application], messages: OutcomeMessages, *, offer_expires_at: datetime | None,
                     now: datetime) -> list[dict]:
    """For each decision in the pool, the email its first applicant would get and how many get one like it."""
    previews = []
    for decision in Decision:
        first = next((a for a in pool if a.decision == decision), None)
        if first is not None:
            subject, text = preview_outcome(first, decision, message=messages.for_decision(decision),
                                            offer_expires_at=offer_expires_at, now=now)
            previews.append({"decision": decision, "count": sum(1 for a in pool if a.decision == decision),
                             "name": first.applicant.name, "subject": subject, "text": text})
    return previews


def check_offer_deadline(cohort: Cohort, day: date | None, now: datetime) -> datetime:
    if day is None:
        raise DomainError("Enter the date offers must be answered by.", field="offer_deadline")
    today = clock.to_local(now, cohort.timezone).date()
    if day <= today:
        raise DomainError("The date offers must be answered by must be after today.", field="offer_deadline")
    if day > today + timedelta(days=60):
        raise DomainError("Give applicants no more than 60 days to answer.", field="offer_deadline")
    return end_of_day(day, cohort.timezone)


def decided_waiting(cohort: Cohort) -> list[Application]:
    """Approved applications with a decision not yet released, best mean score first."""
    return sorted(db.session.scalars(
        select(Application).where(Application.cohort_id == cohort.id,
                                  Application.status == ApplicationStatus.SPONSOR_APPROVED.value,
                                  Application.decision.is_not(None))
        .options(selectinload(Application.applicant), selectinload(Application.reviews))
    ), key=lambda a: (-(a.mean_score or 0), a.id))


def release_outcomes(*, actor: User, cohort: Cohort, now: datetime, offer_deadline: date | None = None,
                     messages: OutcomeMessages | None = None) -> dict[str, int]:
    """Tell every decided applicant their outcome at once, and open the offers (answer by the end of
    `offer_deadline`, UK time; by default the cohort's days to answer from today)."""
    require_team(actor)
    messages = messages or OutcomeMessages()
    decided = decided_waiting(cohort)
    if not decided:
        raise Conflict("There are no decisions waiting to be released.")
    expires_at = check_offer_deadline(cohort, offer_deadline or default_offer_deadline(cohort, now), now)
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
            _make_offer(application, actor=actor, now=now, expires_at=expires_at, message=messages.offer)
            continue
        change_status(application, ApplicationStatus.WAITLISTED if decision == Decision.WAITLIST
                      else ApplicationStatus.UNSUCCESSFUL, actor=actor, now=now)
        template, subject, context = outcome_email(application, decision, message=messages.for_decision(decision),
                                                   offer_expires_at=None, now=now)
        queue_applications_email(key=f"outcome:{application.id}:{template}", to=application.applicant.email,
                                 template=template, subject=subject, now=now, **context)
    if cohort.status in (CohortStatus.DRAFT, CohortStatus.OPEN):
        cohort.status = CohortStatus.SELECTING.value
    audit.record(actor=actor, action="outcomes_released", target_type="cohort", target_id=cohort.id,
                 detail={**counts, "offer_deadline": expires_at.isoformat(),
                         "own_words": [d.value for d in Decision if messages.for_decision(d)]}, now=now)
    db.session.flush()
    return counts


def _make_offer(application: Application, *, actor: User, now: datetime, expires_at: datetime,
                message: str = "") -> None:
    application.offer_expires_at = expires_at
    application.decision = Decision.OFFER.value
    change_status(application, ApplicationStatus.OFFERED, actor=actor, now=now)
    template, subject, context = outcome_email(application, Decision.OFFER, message=message,
                                               offer_expires_at=expires_at, now=now)
    queue_applications_email(key=f"outcome:{application.id}:offered:{int(now.timestamp())}",
                             to=application.applicant.email, template=template, subject=subject, now=now, **context)


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
    _make_offer(application, actor=actor, now=now,
                expires_at=end_of_day(default_offer_deadline(cohort, now), cohort.timezone))
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
