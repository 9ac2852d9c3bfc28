"""Fictional demo data: one cohort built by the programme template, 28 participants, staff.

Every name and organisation here is invented.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import func, select

from app import clock
from app.auth.models import Organisation, OrganisationKind, StaffRole, User
from app.db import db
from app.programme import services as programme
from app.programme.models import CohortStatus

DEMO_PASSWORD = "demo-password"
DEMO_LOGINS = {
    "password": DEMO_PASSWORD,
    "accounts": [
        ("Programme team", "team@example.org"),
        ("Facilitator", "facilitator@example.org"),
        ("Participant", "participant@example.org"),
        ("Applicant (no place yet)", "applicant@example.org"),
    ],
}

ORGANISATIONS = [
    ("Riverside Community Health NHS Trust", OrganisationKind.NHS_TRUST, "North West"),
    ("Moorland Teaching Hospitals NHS Trust", OrganisationKind.NHS_TRUST, "Yorkshire and the Humber"),
    ("Eastbrook Mental Health NHS Trust", OrganisationKind.NHS_TRUST, "North East"),
    ("Harbourside Primary Care Network", OrganisationKind.PRIMARY_CARE, "North West"),
    ("Valley Lane Medical Practice", OrganisationKind.PRIMARY_CARE, "North East"),
    ("Northgate City Council", OrganisationKind.LOCAL_GOVERNMENT, "North West"),
    ("Fellside County Council", OrganisationKind.LOCAL_GOVERNMENT, "Cumbria"),
    ("Brightwater Home Care", OrganisationKind.SOCIAL_CARE, "North West"),
    ("Oakleigh Care Homes", OrganisationKind.SOCIAL_CARE, "Yorkshire and the Humber"),
    ("Northgate Public Health Team", OrganisationKind.PUBLIC_HEALTH, "North West"),
    ("Carers Together", OrganisationKind.CHARITY, "North East"),
    ("Open Door Wellbeing Trust", OrganisationKind.CHARITY, "North West"),
    ("University of Westmoor", OrganisationKind.HIGHER_EDUCATION, "North West"),
    ("North Coast Health Innovation Network", OrganisationKind.HEALTH_INNOVATION_NETWORK, "North East"),
]

ROLES = [
    ("Patient safety lead", "Patient safety"),
    ("Quality improvement facilitator", "Quality improvement"),
    ("Lead pharmacist", "Pharmacy"),
    ("Advanced clinical practitioner", "Nursing"),
    ("Practice development nurse", "Nursing"),
    ("Physiotherapy team lead", "Allied health professions"),
    ("Public health practitioner", "Public health"),
    ("Social work practice educator", "Social work"),
    ("Improvement advisor", "Quality improvement"),
    ("GP partner", "Medicine"),
    ("Occupational therapist", "Allied health professions"),
    ("Learning and development manager", "Professional development"),
    ("Care home manager", "Social care"),
    ("Community engagement officer", "Community development"),
]

FIRST_NAMES = ["Aisha", "Ben", "Carys", "Dev", "Eleni", "Farah", "Gethin", "Hana", "Idris", "Jo", "Kofi",
               "Lena", "Mairead", "Nikhil", "Orla", "Priya", "Quentin", "Rosa", "Sam", "Tomasz", "Uma",
               "Vikram", "Wren", "Xander", "Yasmin", "Zoe", "Alfie", "Bea"]
LAST_NAMES = ["Okafor", "Lindqvist", "Brennan", "Chaudhry", "Moreau", "Haddad", "Pryce", "Nakamura",
              "Adeyemi", "Fairbairn", "Mensah", "Kowalczyk", "Doherty", "Raman", "Quigley", "Sethi",
              "Ashworth", "Delgado", "Whitlock", "Nowak", "Iyer", "Kapoor", "Ellison", "Marr", "Rahman",
              "Tait", "Oduya", "Greaves"]


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(User))


def _user(email: str, name: str, *, staff_role: StaffRole = StaffRole.NONE, job_title: str = "",
          profession: str = "", organisation: Organisation | None = None) -> User:
    user = User(email=email, name=name, staff_role=staff_role.value, job_title=job_title,
                profession=profession, organisation=organisation)
    user.password_hash = _PASSWORD_HASH[0]
    db.session.add(user)
    return user


_PASSWORD_HASH: list[str] = []


def seed(*, now: datetime) -> None:
    """Create the demo programme, cohort, staff and participants. Deterministic."""
    rng = random.Random(2026)
    probe = User()
    probe.set_password(DEMO_PASSWORD)  # one scrypt hash, shared: seeding stays quick
    _PASSWORD_HASH[:] = [probe.password_hash]

    organisations = [Organisation(name=n, kind=k.value, region=r) for n, k, r in ORGANISATIONS]
    db.session.add_all(organisations)

    team = _user("team@example.org", "Morgan Team-Lead", staff_role=StaffRole.TEAM, job_title="Programme manager",
                 organisation=organisations[-1])
    _user("facilitator@example.org", "Ffion Facilitator", staff_role=StaffRole.FACILITATOR,
          job_title="Associate facilitator", organisation=organisations[-1])
    _user("applicant@example.org", "Alex Applicant", job_title="Ward manager", profession="Nursing",
          organisation=organisations[1])
    db.session.flush()

    content = current_app.extensions["convene_content"]
    programme_row = programme.get_or_create_programme(current_app.config["PROGRAMME_NAME"])
    # Started about four months ago, so some sessions have happened and most are to come.
    start = (clock.to_local(now) - timedelta(days=125)).date()
    cohort = programme.create_cohort(
        actor=team, programme=programme_row, name=f"{start.year} to {start.year + 1}", starts_on=start,
        content=content, capacity=28,
        applications_open_at=clock.local_instant(start - timedelta(days=110), time(9, 0)),
        application_deadline_at=clock.local_instant(start - timedelta(days=50), time(23, 59)),
        bank_holiday_region=current_app.config["BANK_HOLIDAY_REGION"],
    )
    cohort.status = CohortStatus.RUNNING.value
    for index, session in enumerate(cohort.sessions):
        if not session.venue:
            session.join_url = f"https://video.example.org/convene-{cohort.id}-{index + 1:02d}"
    celebration = cohort.sessions[-1]
    celebration.venue = "The Lantern Conference Centre, Northgate"
    celebration.access_info = "Step-free access throughout. A quiet room is available on the ground floor."

    for number in range(28):
        first, last = FIRST_NAMES[number], LAST_NAMES[number]
        email = "participant@example.org" if number == 0 else f"{first.lower()}.{last.lower()}@example.org"
        job_title, profession = ROLES[number % len(ROLES)]
        user = _user(email, f"{first} {last}", job_title=job_title, profession=profession,
                     organisation=organisations[rng.randrange(len(organisations) - 1)])
        db.session.flush()
        programme.enrol(cohort=cohort, user=user, now=now - timedelta(days=140))
    db.session.flush()
