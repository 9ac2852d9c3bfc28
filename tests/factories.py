"""Plain factory functions for tests. Each flushes and returns what it made."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

from flask import current_app
from werkzeug.security import generate_password_hash

from app import clock
from app.auth.models import Organisation, OrganisationKind, StaffRole, User
from app.db import db
from app.programme import services as programme
from app.programme.models import Cohort, ProgrammeSession, SessionKind

PASSWORD = "correct horse battery"
_PASSWORD_HASH = generate_password_hash(PASSWORD)
_counter = itertools.count(1)


def make_organisation(name: str | None = None, kind: OrganisationKind = OrganisationKind.NHS_TRUST,
                      region: str = "North West") -> Organisation:
    organisation = Organisation(name=name or f"Organisation {next(_counter)}", kind=kind.value, region=region,
                                accepted_at=clock.now())
    db.session.add(organisation)
    db.session.flush()
    return organisation


def make_user(*, email: str | None = None, name: str | None = None, role: StaffRole = StaffRole.NONE,
              organisation: Organisation | None = None, **fields) -> User:
    n = next(_counter)
    fields.setdefault("email_confirmed_at", clock.now())
    user = User(email=(email or f"person{n}@example.org").lower(), name=name or f"Person {n}",
                staff_role=role.value, organisation=organisation, password_hash=_PASSWORD_HASH, **fields)
    db.session.add(user)
    db.session.flush()
    return user


def make_team(**kwargs) -> User:
    return make_user(role=StaffRole.TEAM, **kwargs)


def make_facilitator(**kwargs) -> User:
    return make_user(role=StaffRole.FACILITATOR, **kwargs)


def make_cohort(*, starts_on: date = date(2026, 9, 14), name: str | None = None, actor: User | None = None,
                **kwargs) -> Cohort:
    """A cohort with the whole schedule from the programme template."""
    actor = actor or make_team()
    programme_row = programme.get_or_create_programme("Test programme")
    return programme.create_cohort(
        actor=actor, programme=programme_row, name=name or f"Cohort {next(_counter)}", starts_on=starts_on,
        content=current_app.extensions["convene_content"], **kwargs,
    )


def make_participant(cohort: Cohort, **kwargs) -> User:
    user = make_user(**kwargs)
    programme.enrol(cohort=cohort, user=user, now=clock.now())
    return user


def make_session(cohort: Cohort, *, starts_at: datetime, minutes: int = 60, kind: SessionKind = SessionKind.DROP_IN,
                 title: str = "Extra clinic", join_url: str = "https://video.example.org/x") -> ProgrammeSession:
    session = ProgrammeSession(cohort=cohort, kind=kind.value, title=title, starts_at=starts_at,
                               ends_at=starts_at + timedelta(minutes=minutes), join_url=join_url)
    db.session.add(session)
    db.session.flush()
    return session


def open_cohort(**kwargs) -> Cohort:
    """A cohort whose application window is open now (a day ago until thirty days on)."""
    now = clock.now()
    kwargs.setdefault("applications_open_at", now - timedelta(days=1))
    kwargs.setdefault("application_deadline_at", now + timedelta(days=30))
    return make_cohort(**kwargs)


COMPLETE_ANSWERS = dict(
    job_title="Lead pharmacist", profession="Pharmacy", is_improvement_community_member=True,
    cop_title="Medicines safety across the system", cop_domain="Safer use of medicines at transfers of care",
    cop_members="Pharmacists, nurses and care home staff", crosses_boundaries=True,
    boundaries_how="Hospitals, practices and care homes together", cop_status="running",
    hopes="To keep the community going and show its value", sponsor_name="Pat Manager",
    sponsor_email="pat.manager@example.org", sponsor_job_title="Chief pharmacist",
)


def make_application(cohort: Cohort, *, applicant: User | None = None, submit: bool = False, **answers):
    """A draft with every answer filled in (or submitted, which emails the line manager)."""
    from app.applications import services as applications
    from app.applications.services import Answers

    applicant = applicant or make_user()
    application = applications.start_application(applicant=applicant, cohort=cohort, now=clock.now())
    organisation = make_organisation()
    values = {**COMPLETE_ANSWERS, "organisation_id": organisation.id, **answers}
    applications.save_draft(actor=applicant, application=application, answers=Answers(**values), now=clock.now())
    if submit:
        applications.submit_application(actor=applicant, application=application, now=clock.now())
    return application
