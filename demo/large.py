"""The large demo (`flask seed-demo --scale large`): the normal demo plus a programme's worth of history.

20 more cohorts of 30 participants with attendance at every session, 2,000 resources in one
cohort's library (500 of them uploaded PDFs, about 50 MB), 500 applications to one cohort and 10,000 outbox rows. Rows go in with bulk
inserts (one statement a table a cohort), so the whole seed takes seconds. Everything is invented.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import insert, select

from app.applications.models import Application, ApplicationEvent, ApplicationStatus
from app.attendance.models import Attendance, AttendanceStatus
from app.auth.models import StaffRole, User
from app.db import db
from app.notifications.models import OutboxMessage, OutboxStatus
from app.portal.models import Resource
from app.portal.uploads import path_for
from app.programme import services as programme
from app.programme.models import CohortStatus, Enrolment, EnrolmentStatus, ProgrammeSession
from demo.seed import _PASSWORD_HASH, _demo_pdf, seed

COHORTS = 20
PARTICIPANTS = 30
RESOURCES = 2000
FILE_BYTES = 100_000
APPLICATIONS = 500
OUTBOX_ROWS = 10_000
STATUSES = [AttendanceStatus.PRESENT] * 12 + [AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY,
                                              AttendanceStatus.APOLOGIES, AttendanceStatus.ABSENT]
# Where the benchmarks find the big pages: the first large cohort holds the library and the applications.
LARGE_COHORT_PREFIX = "Archive cohort"


def seed_large(*, now: datetime) -> None:
    """The normal demo, then the large history. Deterministic apart from `now`."""
    seed(now=now)
    team = db.session.scalar(select(User).where(User.email == "team@example.org"))
    content = current_app.extensions["convene_content"]
    programme_row = programme.get_or_create_programme(current_app.config["PROGRAMME_NAME"])
    cohort_ids = []
    for number in range(COHORTS):
        # Every session of these cohorts is over, so every cell of their registers is filled in.
        starts_on = (now - timedelta(days=460 + 7 * number)).date()
        cohort = programme.create_cohort(actor=team, programme=programme_row, name=f"{LARGE_COHORT_PREFIX} {number + 1:02d}",
                                         starts_on=starts_on, content=content, capacity=PARTICIPANTS)
        cohort.status = CohortStatus.RUNNING.value
        db.session.flush()
        cohort_ids.append(cohort.id)
        _participants(cohort.id, number, team_id=team.id, now=now)
    _resources(cohort_ids[0], team_id=team.id, now=now)
    _applications(cohort_ids[0], now=now)
    _outbox(now=now)
    db.session.flush()


def _bulk_users(prefix: str, count: int, *, now: datetime) -> list[int]:
    rows = [{"email": f"{prefix}-{n:03d}@example.org", "name": f"{prefix.replace('-', ' ').title()} {n:03d}",
             "password_hash": _PASSWORD_HASH[0], "staff_role": StaffRole.NONE.value, "job_title": "Team leader",
             "profession": "Nursing", "email_confirmed_at": now, "created_at": now, "updated_at": now}
            for n in range(count)]
    return list(db.session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), rows))


def _participants(cohort_id: int, number: int, *, team_id: int, now: datetime) -> None:
    user_ids = _bulk_users(f"archive-{number + 1:02d}", PARTICIPANTS, now=now)
    enrolment_ids = list(db.session.scalars(
        insert(Enrolment).returning(Enrolment.id, sort_by_parameter_order=True),
        [{"cohort_id": cohort_id, "user_id": user_id, "status": EnrolmentStatus.ACTIVE.value, "enrolled_at": now,
          "created_at": now, "updated_at": now} for user_id in user_ids]))
    sessions = db.session.execute(select(ProgrammeSession.id, ProgrammeSession.ends_at)
                                  .where(ProgrammeSession.cohort_id == cohort_id)).all()
    db.session.execute(insert(Attendance), [
        {"session_id": session_id, "enrolment_id": enrolment_id, "status": STATUSES[(i * 7 + j) % len(STATUSES)].value,
         "note": "", "recorded_by_id": team_id, "recorded_at": ends_at}
        for i, enrolment_id in enumerate(enrolment_ids) for j, (session_id, ends_at) in enumerate(sessions)])


def _resources(cohort_id: int, *, team_id: int, now: datetime) -> None:
    """2,000 resources; every fourth is an uploaded PDF of about 100 KB (so backups have files to carry)."""
    kinds = ["reading", "slides", "tool", "template", "recording"]
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    upload_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in range(RESOURCES):
        title = f"Resource {n + 1:04d}: notes on practice"
        row = {"cohort_id": cohort_id, "title": title, "kind": kinds[n % len(kinds)],
               "description": "Notes on value, boundaries and practice.", "tags": "value, tools" if n % 3 else "methods",
               "url": f"https://example.org/resources/{n + 1}", "module_number": n % 5 + 1, "uploaded_by_id": team_id,
               "is_material": n % 4 == 0, "created_at": now - timedelta(minutes=n), "updated_at": now}
        if n % 4 == 0:
            # A real PDF's streams are compressed, so its bytes look random: pad with seeded random bytes.
            data = _demo_pdf(title) + b"%" + random.Random(n).randbytes(FILE_BYTES) + b"\n%%EOF\n"
            stored_name = f"{secrets.token_hex(16)}.pdf"
            path_for(upload_dir, stored_name).write_bytes(data)
            row.update(url="", stored_name=stored_name, original_name=f"resource-{n + 1:04d}.pdf",
                       mimetype="application/pdf", size=len(data), sha256=hashlib.sha256(data).hexdigest())
        rows.append(row)
    db.session.execute(insert(Resource), rows)


def _applications(cohort_id: int, *, now: datetime) -> None:
    user_ids = _bulk_users("archive-applicant", APPLICATIONS, now=now)
    statuses = [ApplicationStatus.SUBMITTED, ApplicationStatus.AWAITING_SPONSOR, ApplicationStatus.SPONSOR_APPROVED,
                ApplicationStatus.SPONSOR_DECLINED, ApplicationStatus.WITHDRAWN]
    rows = []
    for n, user_id in enumerate(user_ids):
        submitted = now - timedelta(days=500, hours=n)
        rows.append({
            "cohort_id": cohort_id, "applicant_id": user_id, "status": statuses[n % len(statuses)].value,
            "job_title": "Team leader", "profession": "Nursing", "leads_network_cop": True,
            "is_improvement_community_member": n % 2 == 0, "cop_title": f"Community {n + 1}",
            "cop_domain": "Safer care across boundaries", "cop_members": "Nurses, pharmacists and care staff",
            "crosses_boundaries": True, "boundaries_how": "It spans three organisations.", "cop_status": "running",
            "hopes": "To grow the community.", "sponsor_name": "A Manager",
            "sponsor_email": f"manager-{n:03d}@example.org", "sponsor_job_title": "Head of service",
            "submitted_at": submitted, "created_at": submitted, "updated_at": submitted})
    application_ids = list(db.session.scalars(
        insert(Application).returning(Application.id, sort_by_parameter_order=True), rows))
    db.session.execute(insert(ApplicationEvent), [
        {"application_id": application_id, "at": row["submitted_at"], "actor_id": row["applicant_id"],
         "from_status": ApplicationStatus.DRAFT.value, "to_status": row["status"], "note": ""}
        for application_id, row in zip(application_ids, rows, strict=True)])


def _outbox(*, now: datetime) -> None:
    """Sent history, plus a few hundred reminders still to go."""
    rows = []
    for n in range(OUTBOX_ROWS):
        due = now - timedelta(minutes=30 * (OUTBOX_ROWS - n)) if n < OUTBOX_ROWS - 300 else now + timedelta(hours=n % 300)
        sent = due <= now
        rows.append({"key": f"archive:{n}", "recipient": f"archive-{n % COHORTS + 1:02d}-{n % PARTICIPANTS:03d}@example.org",
                     "subject": "Reminder: your session tomorrow", "body_text": "See you tomorrow.\n", "body_html": "",
                     "attachments": [], "category": "reminder", "due_at": due,
                     "status": (OutboxStatus.SENT if sent else OutboxStatus.PENDING).value, "attempts": int(sent),
                     "sent_at": due if sent else None, "last_error": "", "message_id": "",
                     "created_at": due, "updated_at": due})
    db.session.execute(insert(OutboxMessage), rows)
