"""Applying: drafts, submission before the deadline, asking the line manager, withdrawing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from app.applications.models import (
    Application,
    ApplicationEvent,
    ApplicationStatus,
    CopStatus,
    SponsorApproval,
    SponsorDecision,
)
from app.applications.services._shared import (
    change_status,
    notify_team_place_free,
    queue_applications_email,
    require_applicant,
)
from app.auth.models import Organisation, OrganisationKind, User
from app.auth.services import normalise_email
from app.db import db
from app.errors import Conflict, DomainError
from app.notifications.services import cancel_pending, cancel_pending_any, seal_link
from app.programme.models import Cohort
from app.programme.reminder_rules import rules_for
from app.tokens import new_token
from app.urls import absolute_url

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


ANSWER_COLUMNS = ("job_title", "profession", "phone", "is_improvement_community_member", "leads_network_cop",
                  "cop_title", "cop_domain", "cop_members", "crosses_boundaries", "boundaries_how", "cop_status",
                  "hopes", "sponsor_name", "sponsor_job_title")



# -- applying --------------------------------------------------------------------------------

@dataclass
class ApplyingCohorts:
    """Every cohort an applicant could apply to now (soonest deadline first), those opening later
    (soonest first), and the cohort whose applications closed most recently."""

    open: list[Cohort]
    upcoming: list[Cohort]
    last_closed: Cohort | None


def applying_cohorts(now: datetime) -> ApplyingCohorts:
    cohorts = db.session.scalars(
        select(Cohort).where(Cohort.applications_open_at.is_not(None), Cohort.application_deadline_at.is_not(None))
        .order_by(Cohort.application_deadline_at, Cohort.id)
    ).all()
    closed = [c for c in cohorts if c.application_window(now) == "closed"]
    return ApplyingCohorts(
        open=[c for c in cohorts if c.application_window(now) == "open"],
        upcoming=sorted((c for c in cohorts if c.application_window(now) == "not_open"),
                        key=lambda c: (c.applications_open_at, c.id)),
        last_closed=closed[-1] if closed else None)


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


def _resolve_organisation(answers: Answers, current_id: int | None) -> Organisation | None:
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
        if organisation is None or (organisation.accepted_at is None and organisation.id != current_id):
            raise DomainError("Choose your organisation from the list, or add it.", field="organisation_id")
        return organisation
    return None


def save_draft(*, actor: User, application: Application, answers: Answers, now: datetime) -> None:
    """Keep what the applicant typed. Nothing has to be complete yet."""
    require_applicant(actor, application)
    if application.status != ApplicationStatus.DRAFT:
        raise Conflict("This application has been submitted and can no longer be edited.")
    _require_window_open(application.cohort, now)
    if answers.cop_status is not None and answers.cop_status not in {s.value for s in CopStatus}:
        raise DomainError("Choose whether your community is being planned or already running.", field="cop_status")
    for name in ANSWER_COLUMNS:
        value = getattr(answers, name)
        setattr(application, name, value.strip() if isinstance(value, str) else value)
    application.sponsor_email = normalise_email(answers.sponsor_email) if answers.sponsor_email else ""
    organisation = _resolve_organisation(answers, application.organisation_id)
    application.organisation_id = organisation.id if organisation else None
    db.session.flush()


def save_answers(*, actor: User, application: Application, answers: Answers, submit: bool,
                 now: datetime) -> dict[str, str]:
    """Save the draft and, when asked, submit it. An incomplete application is still saved: what is
    missing comes back by field (empty when nothing is), for the caller to commit and show."""
    save_draft(actor=actor, application=application, answers=answers, now=now)
    if submit:
        try:
            submit_application(actor=actor, application=application, now=now)
        except IncompleteApplication as incomplete:
            return incomplete.errors
    return {}


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
    require_applicant(actor, application)
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
    change_status(application, ApplicationStatus.SUBMITTED, actor=actor, now=now)
    approval = _request_sponsor(application, now=now, actor=actor)
    queue_applications_email(key=f"application-submitted:{application.id}", to=application.applicant.email, template="submitted",
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
        change_status(application, ApplicationStatus.AWAITING_SPONSOR, actor=actor, now=now,
                       note=f"Asked {application.sponsor_name} to sign off")
    db.session.flush()
    _email_sponsor(approval, token, now=now)
    return approval


def _email_sponsor(approval: SponsorApproval, token: str, *, now: datetime) -> None:
    link = seal_link(absolute_url("applications.sponsor", token=token))
    application = approval.application
    context = dict(approval=approval, application=application, link=link, expires_at=approval.expires_at)
    queue_applications_email(key=f"sponsor-request:{approval.id}:{approval.token_hash[:12]}", to=approval.sponsor_email,
           template="sponsor_request", subject=f"Please confirm support for {application.applicant.name}'s application",
           now=now, **context)
    # Chasers go with the request, as they carry its link: the cohort's rule (3 and 7 days by default).
    chasers = rules_for([application.cohort_id])[application.cohort_id]["sponsor_chaser"]
    for days in chasers.days if chasers.enabled else ():
        due = approval.requested_at + timedelta(days=days)
        if due < approval.expires_at and due > now:
            queue_applications_email(key=f"sponsor-chaser:{approval.id}:{approval.token_hash[:12]}:{days}", to=approval.sponsor_email,
                   template="sponsor_chaser", due_at=due, now=now, days=days,
                   subject=f"Reminder: {application.applicant.name} is waiting for your confirmation", **context)


def cancel_emails_about(application: Application) -> int:
    """Cancel every email still to go about this application (to the applicant, their line managers
    and the team): requests, chasers, reminders and outcomes. Returns how many."""
    prefixes = [f"{kind}:{application.id}:" for kind in ("outcome", "deadline-reminder", "offer-reminder",
                                                           "place-free")]
    prefixes += [f"application-submitted:{application.id}", f"offer-accepted:{application.id}"]
    for approval in application.approvals:
        prefixes += [f"sponsor-request:{approval.id}:", f"sponsor-chaser:{approval.id}:",
                     f"sponsor-decided:{approval.id}"]
    return cancel_pending_any(prefixes)


def stop_chasers(approval: SponsorApproval) -> None:
    cancel_pending(f"sponsor-chaser:{approval.id}:")


def pending_approval(application: Application) -> SponsorApproval:
    if application.status != ApplicationStatus.AWAITING_SPONSOR:
        raise Conflict("Your line manager has already responded, so the request cannot be changed.")
    approval = application.current_approval
    if approval is None or not approval.is_pending:
        raise Conflict("There is no request waiting for your line manager.")
    return approval


def can_ask_another_sponsor(application: Application, now: datetime) -> bool:
    """Waiting for a line manager, or turned down by one while the application window is open."""
    if application.status == ApplicationStatus.AWAITING_SPONSOR:
        return True
    return (application.status == ApplicationStatus.SPONSOR_DECLINED
            and application.cohort.application_window(now) == "open")


def change_sponsor(*, actor: User, application: Application, name: str, email: str, job_title: str,
                   now: datetime) -> SponsorApproval:
    """Ask a different line manager: instead of one who has not answered (whose link stops working),
    or after one declined, while applications are open."""
    require_applicant(actor, application)
    declined = application.status == ApplicationStatus.SPONSOR_DECLINED
    if declined:
        if application.cohort.application_window(now) != "open":
            raise Conflict("Applications have closed, so you cannot ask another line manager now. Contact the "
                           "programme team if you think this is wrong.")
        old = application.current_approval
    else:
        old = pending_approval(application)
    name, email, job_title = name.strip(), normalise_email(email), job_title.strip()
    if not name:
        raise DomainError("Enter your line manager's name.", field="sponsor_name")
    if not email or "@" not in email:
        raise DomainError("Enter your line manager's email address.", field="sponsor_email")
    if email == application.applicant.email:
        raise DomainError("Your line manager's email address must not be your own.", field="sponsor_email")
    if declined:
        if old is not None and email == old.sponsor_email:
            raise DomainError(f"{old.sponsor_name} has already declined. Ask a different line manager.",
                              field="sponsor_email")
        # The declined request keeps its decision (the history shows it); a new request goes out.
        application.sponsor_name, application.sponsor_email, application.sponsor_job_title = name, email, job_title
        db.session.flush()
        return _request_sponsor(application, now=now, actor=actor)
    old.decision = SponsorDecision.SUPERSEDED.value
    stop_chasers(old)
    application.sponsor_name, application.sponsor_email, application.sponsor_job_title = name, email, job_title
    application.events.append(ApplicationEvent(at=now, actor_id=actor.id, from_status=application.status,
                                               to_status=application.status,
                                               note=f"Line manager changed to {name}"))
    db.session.flush()
    return _request_sponsor(application, now=now, actor=actor)


def resend_sponsor_request(*, actor: User, application: Application, now: datetime) -> SponsorApproval:
    """Send the line manager a fresh link (the old one stops working), with a new expiry."""
    require_applicant(actor, application)
    old = pending_approval(application)
    if now - old.requested_at < timedelta(minutes=10):
        raise Conflict("The request was sent a few minutes ago. Give it a little time to arrive before resending.")
    old.decision = SponsorDecision.SUPERSEDED.value
    stop_chasers(old)
    application.events.append(ApplicationEvent(at=now, actor_id=actor.id, from_status=application.status,
                                               to_status=application.status, note="Request to line manager resent"))
    db.session.flush()
    return _request_sponsor(application, now=now, actor=actor)


def withdraw_application(*, actor: User, application: Application, now: datetime, reason: str = "") -> None:
    require_applicant(actor, application)
    if ApplicationStatus(application.status) not in WITHDRAWABLE:
        raise Conflict("This application can no longer be withdrawn.")
    was_offered = application.status == ApplicationStatus.OFFERED
    approval = application.current_approval
    if approval is not None and approval.is_pending:
        approval.decision = SponsorDecision.SUPERSEDED.value
        stop_chasers(approval)
    application.decision = None
    change_status(application, ApplicationStatus.WITHDRAWN, actor=actor, now=now, note=reason.strip()[:500])
    cancel_emails_about(application)
    if was_offered:
        notify_team_place_free(application, now=now)
    db.session.flush()
