"""Reads for the team: filtered lists, counts, the selection pool and the cohort mix."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.applications.models import (
    Application,
    ApplicationStatus,
)
from app.auth.models import Organisation
from app.db import db
from app.programme.models import Cohort

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


def filtered_query(cohort: Cohort, filters: Filters):
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
    query = filtered_query(cohort, filters)
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


