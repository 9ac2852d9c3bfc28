"""The application journey: draft, submit, line-manager sign-off, review, selection, offers."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

from flask import current_app, render_template
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from app import audit
from app.applications.models import (
    Application,
    ApplicationEvent,
    ApplicationStatus,
    CopStatus,
    Decision,
    Review,
    SponsorApproval,
    SponsorDecision,
)
from app.auth.models import Organisation, OrganisationKind, User
from app.auth.services import normalise_email
from app.db import db
from app.errors import Conflict, DomainError, InvalidToken, NotFound, PermissionDenied
from app.notifications.services import cancel_pending, queue_email
from app.programme.models import Cohort, CohortStatus
from app.programme.services import enrol
from app.tokens import hash_token, new_token
from app.urls import absolute_url

SPONSOR_CHASER_DAYS = (3, 7)
# Statuses in which the applicant can still withdraw.
WITHDRAWABLE = {ApplicationStatus.DRAFT, ApplicationStatus.AWAITING_SPONSOR, ApplicationStatus.SPONSOR_APPROVED,
                ApplicationStatus.SPONSOR_DECLINED, ApplicationStatus.OFFERED, ApplicationStatus.WAITLISTED}


class IncompleteApplication(DomainError):
    """Submitting an application with answers missing: one message per field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("Your application is not complete yet. " + " ".join(errors.values()))
        self.errors = errors


# -- the answers -----------------------------------------------------------------------------

@dataclass
class Answers:
    """What an applicant types. Every field is optional until they submit."""

    job_title: str = ""
    profession: str = ""
    phone: str = ""
    organisation_id: int | None = None
    new_organisation_name: str = ""
    new_organisation_kind: str = ""
    new_organisation_region: str = ""
    is_improvement_community_member: bool = False
    leads_network_cop: bool = False
    cop_title: str = ""
    cop_domain: str = ""
    cop_members: str = ""
    crosses_boundaries: bool | None = None
    boundaries_how: str = ""
    cop_status: str | None = None
    hopes: str = ""
    sponsor_name: str = ""
    sponsor_email: str = ""
    sponsor_job_title: str = ""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_application(cls, application: Application) -> Answers:
        names = {f.name for f in fields(cls)} - {"new_organisation_name", "new_organisation_kind",
                                                  "new_organisation_region", "extra"}
        return cls(**{name: getattr(application, name) for name in names})


ANSWER_COLUMNS = ("job_title", "profession", "phone", "is_improvement_community_member", "leads_network_cop",
                  "cop_title", "cop_domain", "cop_members", "crosses_boundaries", "boundaries_how", "cop_status",
                  "hopes", "sponsor_name", "sponsor_job_title")


def _require_applicant(actor: User, application: Application) -> None:
    if actor.id != application.applicant_id:
        raise PermissionDenied("Only the applicant can change this application.")


def _require_team(actor: User) -> None:
    if not actor.is_team:
        raise PermissionDenied("Only the programme team can do that.")


def _change_status(application: Application, to: ApplicationStatus, *, actor: User | None, now: datetime,
                   note: str = "") -> None:
    application.events.append(ApplicationEvent(at=now, actor_id=getattr(actor, "id", None),
                                               from_status=application.status, to_status=to.value, note=note))
    application.status = to.value


def _email(*, key: str, to: str, template: str, subject: str, now: datetime, due_at: datetime | None = None,
           category: str = "applications", **context) -> None:
    context.setdefault("programme_name", current_app.config["PROGRAMME_NAME"])
    queue_email(key=key, recipient=to, subject=subject,
                body_text=render_template(f"applications/email/{template}.txt", **context),
                body_html=render_template(f"applications/email/{template}.html", **context),
                due_at=due_at or now, category=category)


# -- applying --------------------------------------------------------------------------------

def cohort_taking_applications(now: datetime) -> Cohort | None:
    """The cohort whose application window is open, or else the next one to open."""
    cohorts = db.session.scalars(
        select(Cohort).where(Cohort.applications_open_at.is_not(None), Cohort.application_deadline_at.is_not(None))
        .order_by(Cohort.applications_open_at)
    ).all()
    open_now = [c for c in cohorts if c.application_window(now) == "open"]
    if open_now:
        return open_now[0]
    upcoming = [c for c in cohorts if c.application_window(now) == "not_open"]
    return upcoming[0] if upcoming else (cohorts[-1] if cohorts else None)


def application_for(user: User, cohort: Cohort) -> Application | None:
    return db.session.scalar(select(Application).where(Application.cohort_id == cohort.id,
                                                       Application.applicant_id == user.id))


def applications_of(user: User) -> list[Application]:
    return list(db.session.scalars(select(Application).where(Application.applicant_id == user.id)
                                   .order_by(Application.created_at.desc())))


def _require_window_open(cohort: Cohort, now: datetime) -> None:
    window = cohort.application_window(now)
    if window == "not_open":
        raise DomainError("Applications for this cohort have not opened yet.")
    if window == "closed":
        raise DomainError("The application deadline has passed, so applications can no longer be changed or "
                          "submitted.")
    if window == "unscheduled":
        raise DomainError("This cohort is not taking applications.")


def start_application(*, applicant: User, cohort: Cohort, now: datetime) -> Application:
    """Start a draft (or return the one the applicant already has for this cohort)."""
    existing = application_for(applicant, cohort)
    if existing is not None:
        return existing
    _require_window_open(cohort, now)
    application = Application(cohort=cohort, applicant=applicant, status=ApplicationStatus.DRAFT.value,
                              job_title=applicant.job_title, profession=applicant.profession,
                              organisation_id=applicant.organisation_id)
    application.events.append(ApplicationEvent(at=now, actor_id=applicant.id, from_status=None,
                                               to_status=ApplicationStatus.DRAFT.value, note="Started"))
    db.session.add(application)
    db.session.flush()
    return application


def _resolve_organisation(answers: Answers) -> Organisation | None:
    name = answers.new_organisation_name.strip()
    if name:
        try:
            kind = OrganisationKind(answers.new_organisation_kind)
        except ValueError:
            raise DomainError("Choose what kind of organisation it is.", field="new_organisation_kind") from None
        existing = db.session.scalar(select(Organisation).where(func.lower(Organisation.name) == name.lower()))
        if existing is not None:
            return existing
        organisation = Organisation(name=name[:200], kind=kind.value, region=answers.new_organisation_region.strip()[:100])
        db.session.add(organisation)
        db.session.flush()
        return organisation
    if answers.organisation_id:
        organisation = db.session.get(Organisation, answers.organisation_id)
        if organisation is None:
            raise DomainError("Choose your organisation from the list, or add it.", field="organisation_id")
        return organisation
    return None


def save_draft(*, actor: User, application: Application, answers: Answers, now: datetime) -> None:
    """Keep what the applicant typed. Nothing has to be complete yet."""
    _require_applicant(actor, application)
    if application.status != ApplicationStatus.DRAFT:
        raise Conflict("This application has been submitted and can no longer be edited.")
    _require_window_open(application.cohort, now)
    if answers.cop_status is not None and answers.cop_status not in {s.value for s in CopStatus}:
        raise DomainError("Choose whether your community is being planned or already running.", field="cop_status")
    for name in ANSWER_COLUMNS:
        value = getattr(answers, name)
        setattr(application, name, value.strip() if isinstance(value, str) else value)
    application.sponsor_email = normalise_email(answers.sponsor_email) if answers.sponsor_email else ""
    organisation = _resolve_organisation(answers)
    application.organisation_id = organisation.id if organisation else None
    db.session.flush()


def missing_answers(application: Application) -> dict[str, str]:
    """What still has to be answered before the application can be submitted, by field."""
    missing = {}
    required = {
        "job_title": "Enter your job title.",
        "profession": "Enter your profession.",
        "cop_title": "Enter the name of your community of practice.",
        "cop_domain": "Say what your community cares about.",
        "cop_members": "Say who your community brings together.",
        "hopes": "Say what you hope to gain from the programme.",
        "sponsor_name": "Enter your line manager's name.",
        "sponsor_email": "Enter your line manager's email address.",
        "sponsor_job_title": "Enter your line manager's job title.",
    }
    for name, message in required.items():
        if not (getattr(application, name) or "").strip():
            missing[name] = message
    if application.organisation_id is None:
        missing["organisation_id"] = "Choose your organisation, or add it."
    if not (application.is_improvement_community_member or application.leads_network_cop):
        missing["eligibility"] = ("Tell us how you are eligible: a member of the improvement community, or leading "
                                  "or planning a community supported by the network.")
    if application.crosses_boundaries is None:
        missing["crosses_boundaries"] = "Say whether your community crosses professional or organisational boundaries."
    elif application.crosses_boundaries and not application.boundaries_how.strip():
        missing["boundaries_how"] = "Say how your community crosses boundaries."
    if application.cop_status is None:
        missing["cop_status"] = "Say whether your community is being planned or already running."
    if application.sponsor_email and application.sponsor_email == application.applicant.email:
        missing["sponsor_email"] = "Your line manager's email address must not be your own."
    return missing


def submit_application(*, actor: User, application: Application, now: datetime) -> SponsorApproval:
    """Submit a complete draft before the deadline and ask the line manager to sign off."""
    _require_applicant(actor, application)
    # Lock the row for the rest of the transaction, so a double-click submits once.
    db.session.execute(update(Application).where(Application.id == application.id)
                       .values(updated_at=now).execution_options(synchronize_session=False))
    db.session.refresh(application)
    if application.status != ApplicationStatus.DRAFT:
        raise Conflict("This application has already been submitted.")
    _require_window_open(application.cohort, now)
    missing = missing_answers(application)
    if missing:
        raise IncompleteApplication(missing)
    application.submitted_at = now
    _change_status(application, ApplicationStatus.SUBMITTED, actor=actor, now=now)
    approval = _request_sponsor(application, now=now, actor=actor)
    _email(key=f"application-submitted:{application.id}", to=application.applicant.email, template="submitted",
           subject="We have your application", now=now, application=application,
           link=absolute_url("applications.status", application_id=application.id))
    return approval


def _request_sponsor(application: Application, *, now: datetime, actor: User | None) -> SponsorApproval:
    token, token_hash = new_token()
    approval = SponsorApproval(application=application, sponsor_name=application.sponsor_name,
                               sponsor_email=application.sponsor_email, sponsor_role=application.sponsor_job_title,
                               token_hash=token_hash, requested_at=now,
                               expires_at=now + current_app.config["SPONSOR_LINK_TTL"])
    db.session.add(approval)
    if application.status != ApplicationStatus.AWAITING_SPONSOR:
        _change_status(application, ApplicationStatus.AWAITING_SPONSOR, actor=actor, now=now,
                       note=f"Asked {application.sponsor_name} to sign off")
    db.session.flush()
    _email_sponsor(approval, token, now=now)
    return approval


def _email_sponsor(approval: SponsorApproval, token: str, *, now: datetime) -> None:
    link = absolute_url("applications.sponsor", token=token)
    application = approval.application
    context = dict(approval=approval, application=application, link=link, expires_at=approval.expires_at)
    _email(key=f"sponsor-request:{approval.id}:{approval.token_hash[:12]}", to=approval.sponsor_email,
           template="sponsor_request", subject=f"Please confirm support for {application.applicant.name}'s application",
           now=now, **context)
    for days in SPONSOR_CHASER_DAYS:
        due = approval.requested_at + timedelta(days=days)
        if due < approval.expires_at and due > now:
            _email(key=f"sponsor-chaser:{approval.id}:{approval.token_hash[:12]}:{days}", to=approval.sponsor_email,
                   template="sponsor_chaser", due_at=due, now=now, days=days,
                   subject=f"Reminder: {application.applicant.name} is waiting for your confirmation", **context)


def _stop_chasers(approval: SponsorApproval) -> None:
    cancel_pending(f"sponsor-chaser:{approval.id}:")


def _pending_approval(application: Application) -> SponsorApproval:
    if application.status != ApplicationStatus.AWAITING_SPONSOR:
        raise Conflict("Your line manager has already responded, so the request cannot be changed.")
    approval = application.current_approval
    if approval is None or not approval.is_pending:
        raise Conflict("There is no request waiting for your line manager.")
    return approval


def change_sponsor(*, actor: User, application: Application, name: str, email: str, job_title: str,
                   now: datetime) -> SponsorApproval:
    """Ask a different line manager. The old link stops working."""
    _require_applicant(actor, application)
    old = _pending_approval(application)
    name, email, job_title = name.strip(), normalise_email(email), job_title.strip()
    if not name:
        raise DomainError("Enter your line manager's name.", field="sponsor_name")
    if not email or "@" not in email:
        raise DomainError("Enter your line manager's email address.", field="sponsor_email")
    if email == application.applicant.email:
        raise DomainError("Your line manager's email address must not be your own.", field="sponsor_email")
    old.decision = SponsorDecision.SUPERSEDED.value
    _stop_chasers(old)
    application.sponsor_name, application.sponsor_email, application.sponsor_job_title = name, email, job_title
    application.events.append(ApplicationEvent(at=now, actor_id=actor.id, from_status=application.status,
                                               to_status=application.status,
                                               note=f"Line manager changed to {name}"))
    db.session.flush()
    return _request_sponsor(application, now=now, actor=actor)


def resend_sponsor_request(*, actor: User, application: Application, now: datetime) -> SponsorApproval:
    """Send the line manager a fresh link (the old one stops working), with a new expiry."""
    _require_applicant(actor, application)
    old = _pending_approval(application)
    if now - old.requested_at < timedelta(minutes=10):
        raise Conflict("The request was sent a few minutes ago. Give it a little time to arrive before resending.")
    old.decision = SponsorDecision.SUPERSEDED.value
    _stop_chasers(old)
    application.events.append(ApplicationEvent(at=now, actor_id=actor.id, from_status=application.status,
                                               to_status=application.status, note="Request to line manager resent"))
    db.session.flush()
    return _request_sponsor(application, now=now, actor=actor)


def withdraw_application(*, actor: User, application: Application, now: datetime, reason: str = "") -> None:
    _require_applicant(actor, application)
    if ApplicationStatus(application.status) not in WITHDRAWABLE:
        raise Conflict("This application can no longer be withdrawn.")
    was_offered = application.status == ApplicationStatus.OFFERED
    approval = application.current_approval
    if approval is not None and approval.is_pending:
        approval.decision = SponsorDecision.SUPERSEDED.value
        _stop_chasers(approval)
    application.decision = None
    _change_status(application, ApplicationStatus.WITHDRAWN, actor=actor, now=now, note=reason.strip()[:500])
    if was_offered:
        _notify_team_place_free(application, now=now)
    db.session.flush()


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
    _stop_chasers(approval)
    application = approval.application
    status = ApplicationStatus.SPONSOR_APPROVED if approve else ApplicationStatus.SPONSOR_DECLINED
    note = f"Recorded by the programme team: {reason}" if recorded_by else ""
    _change_status(application, status, actor=recorded_by, now=now, note=note)
    _email(key=f"sponsor-decided:{approval.id}", to=application.applicant.email, template="sponsor_decided",
           subject="Your line manager has responded", now=now, application=application, approval=approval,
           link=absolute_url("applications.status", application_id=application.id))
    db.session.flush()
    return approval


def record_sponsor_decision_for(*, actor: User, application: Application, approve: bool, reason: str,
                                comment: str = "", now: datetime) -> SponsorApproval:
    """The team records the line manager's answer on their behalf (for example, given by phone)."""
    _require_team(actor)
    reason = reason.strip()
    if not reason:
        raise DomainError("Say why you are recording this on the line manager's behalf.", field="reason")
    approval = _pending_approval(application)
    approval = _decide(approval, approve=approve, confirms_release=approve, comment=comment.strip(), now=now,
                       recorded_by=actor, reason=reason)
    audit.record(actor=actor, action="sponsor_decision_on_behalf", target_type="application",
                 target_id=application.id, detail={"decision": approval.decision, "reason": reason}, now=now)
    return approval


# -- review and selection --------------------------------------------------------------------

def score_application(*, actor: User, application: Application, boundary: int, ambition: int, readiness: int,
                      comment: str = "") -> Review:
    """One reviewer's scores (1-5 each). Scoring again replaces your earlier scores."""
    _require_team(actor)
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
    _require_team(actor)
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
    _require_team(actor)
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
            _change_status(application, ApplicationStatus.WAITLISTED, actor=actor, now=now)
            _email(key=f"outcome:{application.id}:waitlisted", to=application.applicant.email, template="waitlisted",
                   subject="Your application: the waiting list", now=now, application=application,
                   link=absolute_url("applications.status", application_id=application.id))
        else:
            _change_status(application, ApplicationStatus.UNSUCCESSFUL, actor=actor, now=now)
            _email(key=f"outcome:{application.id}:unsuccessful", to=application.applicant.email,
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
    _change_status(application, ApplicationStatus.OFFERED, actor=actor, now=now)
    _email(key=f"outcome:{application.id}:offered:{int(now.timestamp())}", to=application.applicant.email,
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
    _require_team(actor)
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
    _require_applicant(actor, application)
    if application.status != ApplicationStatus.OFFERED:
        raise Conflict("There is no open offer on this application.")
    if application.offer_expires_at and application.offer_expires_at <= now:
        raise Conflict("This offer has lapsed. Contact the programme team if you still want a place.")
    if accept:
        _change_status(application, ApplicationStatus.ACCEPTED, actor=actor, now=now)
        enrol(cohort=application.cohort, user=application.applicant, now=now)
        _email(key=f"offer-accepted:{application.id}", to=application.applicant.email, template="accepted",
               subject="Welcome to the programme", now=now, application=application,
               link=absolute_url("programme.home"))
    else:
        application.decision = None
        _change_status(application, ApplicationStatus.DECLINED, actor=actor, now=now)
        _notify_team_place_free(application, now=now)
    db.session.flush()


def _notify_team_place_free(application: Application, *, now: datetime) -> None:
    team = db.session.scalars(select(User).where(User.staff_role == "team", User.is_disabled.is_(False))).all()
    for member in team:
        _email(key=f"place-free:{application.id}:{member.id}:{application.status}", to=member.email,
               template="place_free", subject=f"A place is free in {application.cohort.name}", now=now,
               application=application, category="team",
               link=absolute_url("applications.selection", cohort_id=application.cohort_id))


# -- reads for the team ----------------------------------------------------------------------

@dataclass
class Filters:
    status: str | None = None
    sponsor: str | None = None
    organisation_kind: str | None = None
    region: str | None = None
    crosses_boundaries: bool | None = None


SPONSOR_STATES = {
    "waiting": (ApplicationStatus.AWAITING_SPONSOR,),
    "approved": (ApplicationStatus.SPONSOR_APPROVED, ApplicationStatus.OFFERED, ApplicationStatus.ACCEPTED,
                 ApplicationStatus.DECLINED, ApplicationStatus.WAITLISTED, ApplicationStatus.UNSUCCESSFUL),
    "declined": (ApplicationStatus.SPONSOR_DECLINED,),
}
PAGE_SIZE = 50
LIST_OPTIONS = (selectinload(Application.applicant), selectinload(Application.organisation),
                selectinload(Application.reviews))


def _filtered(cohort: Cohort, filters: Filters):
    query = select(Application).where(Application.cohort_id == cohort.id)
    if filters.status:
        query = query.where(Application.status == filters.status)
    if filters.sponsor in SPONSOR_STATES:
        query = query.where(Application.status.in_([s.value for s in SPONSOR_STATES[filters.sponsor]]))
    if filters.organisation_kind or filters.region:
        query = query.join(Organisation, Application.organisation_id == Organisation.id)
        if filters.organisation_kind:
            query = query.where(Organisation.kind == filters.organisation_kind)
        if filters.region:
            query = query.where(Organisation.region == filters.region)
    if filters.crosses_boundaries is not None:
        query = query.where(Application.crosses_boundaries.is_(filters.crosses_boundaries))
    return query


def list_applications(cohort: Cohort, filters: Filters, page: int = 1) -> tuple[list[Application], int]:
    query = _filtered(cohort, filters)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.options(*LIST_OPTIONS)
        .order_by(Application.submitted_at.is_(None), Application.submitted_at, Application.id)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    return list(rows), total


def status_counts(cohort: Cohort) -> dict[str, int]:
    rows = db.session.execute(select(Application.status, func.count()).where(Application.cohort_id == cohort.id)
                              .group_by(Application.status)).all()
    counts = {s.value: 0 for s in ApplicationStatus}
    counts.update(dict(rows))
    return counts


def regions(cohort: Cohort) -> list[str]:
    return sorted(r for r in db.session.scalars(
        select(Organisation.region).join(Application, Application.organisation_id == Organisation.id)
        .where(Application.cohort_id == cohort.id).distinct()) if r)


def selection_pool(cohort: Cohort) -> list[Application]:
    """Approved applications and those already decided or released, best mean score first."""
    rows = db.session.scalars(
        select(Application).where(Application.cohort_id == cohort.id, Application.status.in_([
            s.value for s in (ApplicationStatus.SPONSOR_APPROVED, ApplicationStatus.OFFERED,
                              ApplicationStatus.ACCEPTED, ApplicationStatus.WAITLISTED, ApplicationStatus.DECLINED,
                              ApplicationStatus.UNSUCCESSFUL)]))
        .options(*LIST_OPTIONS)
    ).all()
    return sorted(rows, key=lambda a: (-(a.mean_score or 0), a.submitted_at or a.created_at, a.id))


def mix(applications: list[Application]) -> dict[str, dict[str, int]]:
    """How a set of applicants spreads over organisation kinds, professions and regions."""
    result: dict[str, dict[str, int]] = {"Organisation kind": {}, "Profession": {}, "Region": {}}
    for application in applications:
        organisation = application.organisation
        kind = organisation.kind_label if organisation else "Not given"
        region = (organisation.region if organisation else "") or "Not given"
        for heading, value in (("Organisation kind", kind), ("Profession", application.profession or "Not given"),
                               ("Region", region)):
            result[heading][value] = result[heading].get(value, 0) + 1
    return {heading: dict(sorted(values.items(), key=lambda kv: (-kv[1], kv[0])))
            for heading, values in result.items()}


def get_application(application_id: int) -> Application:
    application = db.session.get(Application, application_id)
    if application is None:
        raise NotFound("Application not found.")
    return application
