"""Erasing a person, and the retention schedule applied every night.

Erasure keeps what the programme's statistics need (places, attendance, that feedback was given)
but nothing that identifies the person: the account is anonymised and signed out everywhere;
what they wrote or uploaded, their applications, evidence, stories, showcases, celebration answer and clinic
topics are deleted; they leave their communities (a community left with nobody in it, like a participant's
CoP that only they convened, is deleted with its meetings, unless it is in a programme of work; named
register entries stay, under the anonymised account, so meeting figures keep their counts), leave every
programme of work's team, their value story interviews go (evidence and stories they recorded stay,
without their name), and invitations to their address go; their named feedback (on sessions and on
community meetings) keeps only its ratings, anonymously; emails to or about
them are deleted. The audit log keeps the fact.

The schedule (each period configurable, see README):
- applications that did not lead to a place: deleted 12 months after their cohort started;
- a cohort's participants: erased 6 years after the cohort's last session (unless they are staff
  or in a later cohort still kept);
- a request to delete an account: carried out after 30 days if the team has not already;
- an account that belongs to nothing (no programme place, application, community or programme of work's
  team; community members who left, say): erased 12 months after it last signed in (or was created);
- emails (sent, failed, cancelled or never sent): deleted 90 days after they were due (they hold links);
- ended sign-in sessions, used or expired reset links and community invitations: deleted after 30 days; sign-in sessions
  past their absolute lifetime (SESSION_ABSOLUTE_HOURS): deleted at once;
- the audit log: deleted after 6 years.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, func, or_, select, update

from app.applications.models import Application, ApplicationStatus
from app.audit import AuditEvent, record
from app.auth.held_forms import purge_expired_held_forms
from app.auth.models import EmailConfirmation, HeldForm, PasswordResetToken, User, UserSession
from app.auth.sessions import end_all_sessions
from app.celebration.models import CelebrationParticipant, ClinicSignup, Showcase
from app.communities.feedback_models import CommunityFeedbackResponse
from app.communities.models import Community, CommunityInvitation, CommunityMembership
from app.communities.programme_models import (
    CommunityValueEvidence,
    CommunityValueStory,
    ProgrammeOfWork,
    ProgrammeTeamMember,
)
from app.db import db
from app.errors import Conflict, PermissionDenied
from app.evaluation.models import FeedbackResponse, ImpactStory, ValueEvidence
from app.notifications.models import OutboxMessage
from app.portal.models import DirectoryEntry, Post, Resource, ResourceProgress, Thread, ThreadSubscription
from app.programme.models import Cohort, Enrolment, ProgrammeSession

NOT_A_PLACE = (ApplicationStatus.DRAFT, ApplicationStatus.SPONSOR_DECLINED, ApplicationStatus.DECLINED,
               ApplicationStatus.UNSUCCESSFUL, ApplicationStatus.WITHDRAWN, ApplicationStatus.WAITLISTED)
REMOVED_POST = "This post was removed when its author's account was deleted."


def erase_person(*, actor: User | None, person: User, now: datetime, reason: str) -> None:
    """Anonymise the account and delete what identifies the person. `actor` None: the schedule."""
    if actor is not None and not actor.is_team:
        raise PermissionDenied("Only the programme team erases accounts.")
    if actor is not None and actor.id == person.id:
        raise Conflict("You cannot erase your own account: ask another member of the team.")
    if person.erased_at is not None:
        raise Conflict("This account has already been erased.")
    enrolments = list(db.session.scalars(select(Enrolment.id).where(Enrolment.user_id == person.id)))
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    for stored in db.session.scalars(select(Resource.stored_name).where(Resource.uploaded_by_id == person.id,
                                                                       Resource.stored_name.is_not(None))):
        (upload_dir / stored).unlink(missing_ok=True)
    db.session.execute(delete(Resource).where(Resource.uploaded_by_id == person.id))
    db.session.execute(update(Post).where(Post.author_id == person.id).values(body=REMOVED_POST))
    db.session.execute(update(Thread).where(Thread.author_id == person.id).values(title="Removed thread"))
    if enrolments:
        for model in (DirectoryEntry, ImpactStory, ValueEvidence, Showcase, ClinicSignup,
                      CelebrationParticipant):
            db.session.execute(delete(model).where(model.enrolment_id.in_(enrolments)))
        # Their named feedback keeps its ratings for the figures, without their name or their words.
        db.session.execute(update(FeedbackResponse).where(FeedbackResponse.enrolment_id.in_(enrolments))
                           .values(enrolment_id=None, what_worked="", what_to_change="", quote="",
                                   quote_consent=False))
    # Their named feedback on community meetings keeps its ratings, without their name or their words.
    db.session.execute(update(CommunityFeedbackResponse).where(CommunityFeedbackResponse.user_id == person.id)
                       .values(user_id=None, worked="", better="", differently="", extra=[]))
    _leave_communities(person)
    for application in db.session.scalars(select(Application).where(Application.applicant_id == person.id)):
        db.session.delete(application)
    # Emails to them, and copies of emails about them (a line manager's sign-off request names them).
    db.session.execute(delete(OutboxMessage).where(or_(
        OutboxMessage.recipient == person.email, OutboxMessage.subject.contains(person.name),
        OutboxMessage.body_text.contains(person.name))))
    for model in (PasswordResetToken, EmailConfirmation, HeldForm, ThreadSubscription, ResourceProgress):
        db.session.execute(delete(model).where(model.user_id == person.id))
    end_all_sessions(person, now=now)
    person.name, person.email = "Deleted person", f"deleted-{person.id}@invalid.example"
    person.password_hash, person.job_title, person.profession, person.organisation_id = "", "", "", None
    person.is_disabled, person.calendar_token_hash, person.wants_reminders = True, None, False
    person.totp_secret, person.totp_enabled_at, person.deletion_requested_at = None, None, None
    person.erased_at = now
    record(actor=actor, action="account_erased", target_type="user", target_id=person.id, now=now,
           detail={"reason": reason})
    db.session.flush()


def _leave_communities(person: User) -> None:
    """Out of every community; a community nobody is left in goes, with its meetings, unless it is in a
    programme of work."""
    joined = list(db.session.scalars(select(CommunityMembership.community_id).where(
        CommunityMembership.user_id == person.id)))
    db.session.execute(delete(CommunityMembership).where(CommunityMembership.user_id == person.id))
    db.session.execute(delete(CommunityInvitation).where(or_(CommunityInvitation.email == person.email,
                                                             CommunityInvitation.user_id == person.id)))
    if joined:
        # A community in a programme of work stays with its records: the programme's team still runs it.
        for community in db.session.scalars(select(Community).where(
                Community.id.in_(joined), Community.programme_of_work_id.is_(None),
                Community.id.not_in(select(CommunityMembership.community_id)))):
            db.session.delete(community)
    # Off every programme of work's team; their interviews go (their words about themselves); evidence
    # and stories they recorded stay for the community, without their name on them.
    db.session.execute(delete(ProgrammeTeamMember).where(ProgrammeTeamMember.user_id == person.id))
    db.session.execute(delete(CommunityValueStory).where(CommunityValueStory.interviewee_id == person.id))
    for model in (CommunityValueStory, CommunityValueEvidence):
        db.session.execute(update(model).where(model.recorded_by_id == person.id).values(recorded_by_id=None))
    db.session.execute(update(ProgrammeOfWork).where(ProgrammeOfWork.created_by_id == person.id)
                       .values(created_by_id=None))


def apply_retention(now: datetime) -> dict[str, int]:
    """Apply the schedule once. Idempotent; returns how many of each were removed or erased."""
    config = current_app.config
    done: dict[str, int] = {}
    months = config["RETENTION_APPLICATION_MONTHS"]
    old_cohorts = select(Cohort.id).where(Cohort.starts_on <= (now - timedelta(days=round(months * 30.44))).date())
    stale = db.session.scalars(select(Application).where(
        Application.cohort_id.in_(old_cohorts), Application.status.in_([s.value for s in NOT_A_PLACE]))).all()
    for application in stale:
        db.session.delete(application)
    done["applications"] = len(stale)

    ended_before = now - timedelta(days=round(config["RETENTION_COHORT_YEARS"] * 365.25))
    last_session = (select(ProgrammeSession.cohort_id, func.max(ProgrammeSession.ends_at).label("ended"))
                    .group_by(ProgrammeSession.cohort_id).subquery())
    kept_cohorts = select(last_session.c.cohort_id).where(last_session.c.ended > ended_before)
    expired_people = select(Enrolment.user_id).join(last_session, last_session.c.cohort_id == Enrolment.cohort_id).where(
        last_session.c.ended <= ended_before)
    people = db.session.scalars(select(User).where(
        User.id.in_(expired_people), User.erased_at.is_(None), User.staff_role == "none",
        User.id.not_in(select(Enrolment.user_id).where(Enrolment.cohort_id.in_(kept_cohorts))))).all()
    requested = db.session.scalars(select(User).where(
        User.erased_at.is_(None), User.deletion_requested_at <= now - timedelta(days=30))).all()
    dormant_before = now - timedelta(days=round(config["RETENTION_DORMANT_MONTHS"] * 30.44))
    dormant = db.session.scalars(select(User).where(
        User.erased_at.is_(None), User.staff_role == "none", User.email_confirmed_at.is_not(None),
        func.coalesce(User.last_login_at, User.created_at) <= dormant_before,
        User.id.not_in(select(Enrolment.user_id)), User.id.not_in(select(Application.applicant_id)),
        User.id.not_in(select(CommunityMembership.user_id)),
        User.id.not_in(select(ProgrammeTeamMember.user_id)))).all()
    reasons = {**{p: "belonged to nothing for the dormant-account period" for p in dormant},
               **{p: "cohort retention period ended" for p in people}, **{p: "asked to be deleted" for p in requested}}
    for person, reason in reasons.items():
        erase_person(actor=None, person=person, now=now, reason=reason)
    done["people"] = len(reasons)

    emails_before = now - timedelta(days=config["RETENTION_EMAIL_DAYS"])
    done["emails"] = db.session.execute(delete(OutboxMessage).where(
        OutboxMessage.status != "sending", OutboxMessage.due_at <= emails_before)).rowcount
    month_ago = now - timedelta(days=30)
    # Ended sessions after 30 days; those past their absolute lifetime at once (no cookie opens them).
    done["sessions"] = db.session.execute(delete(UserSession).where(or_(
        UserSession.revoked_at <= month_ago,
        UserSession.created_at <= now - config["SESSION_ABSOLUTE_LIFETIME"]))).rowcount
    done["reset_links"] = db.session.execute(delete(PasswordResetToken).where(
        PasswordResetToken.expires_at <= month_ago)).rowcount
    done["confirmation_links"] = db.session.execute(delete(EmailConfirmation).where(
        EmailConfirmation.expires_at <= month_ago)).rowcount
    done["community_invitations"] = db.session.execute(delete(CommunityInvitation).where(
        CommunityInvitation.expires_at <= month_ago)).rowcount
    done["held_forms"] = purge_expired_held_forms(now)
    # Accounts whose address was never confirmed hold nothing but a name and an address: after 30 days
    # they go (the address can register again).
    unconfirmed = db.session.scalars(select(User).where(
        User.email_confirmed_at.is_(None), User.staff_role == "none", User.created_at <= month_ago,
        User.id.not_in(select(Application.applicant_id)), User.id.not_in(select(Enrolment.user_id)))).all()
    for person in unconfirmed:
        db.session.delete(person)
    done["unconfirmed_accounts"] = len(unconfirmed)
    audit_before = now - timedelta(days=round(config["RETENTION_AUDIT_YEARS"] * 365.25))
    done["audit_events"] = db.session.execute(delete(AuditEvent).where(AuditEvent.at <= audit_before)).rowcount
    db.session.flush()
    return done
