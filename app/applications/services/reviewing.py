"""Reviewers: the team assigns applications to reviewers (team members or facilitators); a reviewer
sees only their assignments and, under blind review (the cohort's setting, on by default), nobody
else's scores until they have given their own. The team deciding on places sees every score,
except on an application they are reviewing themselves and have not scored yet.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app import audit
from app.applications.models import Application, ApplicationStatus, Review, ReviewAssignment
from app.applications.services._shared import require_team
from app.auth.models import StaffRole, User
from app.db import db
from app.errors import DomainError, PermissionDenied
from app.programme.models import Cohort

# Applications that can be reviewed: submitted, and not withdrawn.
REVIEWABLE = tuple(s.value for s in ApplicationStatus if s not in (ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN))


def possible_reviewers() -> list[User]:
    """Everyone who can be asked to review: the team and facilitators with working accounts."""
    return list(db.session.scalars(select(User).where(
        User.staff_role.in_([StaffRole.TEAM.value, StaffRole.FACILITATOR.value]), User.is_disabled.is_(False),
        User.erased_at.is_(None)).order_by(User.name, User.id)))


def is_assigned(user: User, application: Application) -> bool:
    return any(a.reviewer_id == user.id for a in application.assignments)


def can_review(user: User, application: Application) -> bool:
    return user.is_team or (user.is_staff and is_assigned(user, application))


def require_reviewer(user: User, application: Application) -> None:
    if not can_review(user, application):
        raise PermissionDenied("Only reviewers assigned to this application, and the programme team, can score it.")


def can_see_scores(user: User, application: Application) -> bool:
    """Others' scores: once you have scored, or when the cohort does not review blind; the team sees
    them unless it is reviewing the application itself and has not scored yet."""
    if not application.cohort.blind_review:
        return can_review(user, application)
    if any(r.reviewer_id == user.id for r in application.reviews):
        return True
    return user.is_team and not is_assigned(user, application)


def _reviewers_by_id(ids: list[int]) -> dict[int, User]:
    allowed = {u.id: u for u in possible_reviewers()}
    unknown = [i for i in ids if i not in allowed]
    if unknown:
        raise DomainError("Choose reviewers from the list: only the team and facilitators can review.",
                          field="reviewers")
    return {i: allowed[i] for i in ids}


def assign_reviewers(*, actor: User, application: Application, reviewer_ids: list[int], now: datetime) -> None:
    """Set exactly who reviews this application. Scores already given stay."""
    require_team(actor)
    if application.status not in REVIEWABLE:
        raise DomainError("Only submitted applications can be reviewed.")
    wanted = _reviewers_by_id(sorted(set(reviewer_ids)))
    current = {a.reviewer_id: a for a in application.assignments}
    for reviewer_id, assignment in current.items():
        if reviewer_id not in wanted:
            application.assignments.remove(assignment)
    for reviewer_id in wanted:
        if reviewer_id not in current:
            application.assignments.append(ReviewAssignment(reviewer_id=reviewer_id, assigned_at=now,
                                                            assigned_by_id=actor.id))
    added, removed = sorted(set(wanted) - set(current)), sorted(set(current) - set(wanted))
    if added or removed:
        audit.record(actor=actor, action="reviewers_assigned", target_type="application", target_id=application.id,
                     detail={"added": added, "removed": removed}, now=now)
    db.session.flush()


def share_out(*, actor: User, cohort: Cohort, reviewer_ids: list[int], per_application: int, now: datetime) -> int:
    """Give every submitted application `per_application` reviewers from those chosen, spreading the load
    evenly (the least-loaded reviewer first). Returns how many assignments were made."""
    require_team(actor)
    reviewers = _reviewers_by_id(sorted(set(reviewer_ids)))
    if not reviewers:
        raise DomainError("Choose at least one reviewer.", field="reviewers")
    if not 1 <= per_application <= len(reviewers):
        raise DomainError(f"Choose at least {per_application} reviewers to give each application "
                          f"{per_application}.", field="reviewers")
    applications = db.session.scalars(select(Application).where(
        Application.cohort_id == cohort.id, Application.status.in_(REVIEWABLE))
        .options(selectinload(Application.assignments)).order_by(Application.submitted_at, Application.id)).all()
    load = Counter({reviewer_id: 0 for reviewer_id in reviewers})
    for application in applications:
        for assignment in application.assignments:
            if assignment.reviewer_id in load:
                load[assignment.reviewer_id] += 1
    made = 0
    for application in applications:
        have = {a.reviewer_id for a in application.assignments}
        if application.applicant_id in reviewers:
            have.add(application.applicant_id)  # nobody reviews their own application
        need = per_application - len(have & set(reviewers))
        for reviewer_id in sorted((r for r in reviewers if r not in have), key=lambda r: (load[r], r))[:max(need, 0)]:
            application.assignments.append(ReviewAssignment(reviewer_id=reviewer_id, assigned_at=now,
                                                            assigned_by_id=actor.id))
            load[reviewer_id] += 1
            made += 1
    audit.record(actor=actor, action="reviewers_shared_out", target_type="cohort", target_id=cohort.id,
                 detail={"reviewers": sorted(reviewers), "per_application": per_application, "assigned": made},
                 now=now)
    db.session.flush()
    return made


@dataclass
class ReviewerProgress:
    reviewer: User
    assigned: int
    scored: int

    @property
    def left(self) -> int:
        return self.assigned - self.scored


def progress(cohort: Cohort) -> list[ReviewerProgress]:
    """Per reviewer: applications assigned in this cohort, and how many of those they have scored."""
    assigned = dict(db.session.execute(
        select(ReviewAssignment.reviewer_id, func.count()).join(Application)
        .where(Application.cohort_id == cohort.id, Application.status.in_(REVIEWABLE))
        .group_by(ReviewAssignment.reviewer_id)).all())
    scored = dict(db.session.execute(
        select(ReviewAssignment.reviewer_id, func.count()).join(Application)
        .join(Review, (Review.application_id == ReviewAssignment.application_id)
              & (Review.reviewer_id == ReviewAssignment.reviewer_id))
        .where(Application.cohort_id == cohort.id, Application.status.in_(REVIEWABLE))
        .group_by(ReviewAssignment.reviewer_id)).all())
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(list(assigned))))} if assigned else {}
    return sorted((ReviewerProgress(people[i], n, scored.get(i, 0)) for i, n in assigned.items()),
                  key=lambda p: (p.reviewer.name, p.reviewer.id))


@dataclass
class MyReview:
    application: Application
    review: Review | None


def my_assignments(user: User) -> list[MyReview]:
    """The applications this person has been asked to review, those still to score first."""
    applications = db.session.scalars(
        select(Application).join(ReviewAssignment)
        .where(ReviewAssignment.reviewer_id == user.id, Application.status.in_(REVIEWABLE))
        .options(selectinload(Application.reviews), selectinload(Application.cohort),
                 selectinload(Application.applicant))
        .order_by(Application.cohort_id, Application.submitted_at, Application.id)).all()
    rows = [MyReview(a, next((r for r in a.reviews if r.reviewer_id == user.id), None)) for a in applications]
    return sorted(rows, key=lambda r: r.review is not None)
