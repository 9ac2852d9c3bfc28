"""Where Convene holds personal data: every table, what it holds about a person and how to find it.

`HOLDINGS` maps each table that can hold data about a person to its category, the lawful purpose
and how to select that person's rows; `NO_PERSONAL_DATA` lists the tables that hold none. A test
checks that every table is in exactly one of the two, so a new table cannot be forgotten by the
subject access export or by erasure.

Anonymous feedback is, by design, not linkable to anyone and so is not in anyone's export.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import Table, false, or_, select

from app.db import db

# Secrets are never exported: only that they exist.
SECRET_COLUMNS = {"password_hash", "token_hash", "key_hash", "totp_secret", "calendar_token_hash", "claim_token"}


@dataclass(frozen=True)
class Person:
    """The keys that lead to someone's rows."""

    user_id: int
    email: str
    enrolment_ids: tuple[int, ...]
    application_ids: tuple[int, ...]
    community_ids: tuple[int, ...]  # communities they belong to, in any role
    convened_ids: tuple[int, ...]  # those they convene


@dataclass(frozen=True)
class Holding:
    table: str
    category: str
    purpose: str
    rows: Callable[[Table, Person], object]  # a WHERE clause for this person's rows


def _in(column, values):
    return column.in_(values) if values else false()


HOLDINGS: list[Holding] = [
    Holding("users", "Identity and account", "Running your account", lambda t, p: t.c.id == p.user_id),
    Holding("user_sessions", "Sign-in sessions", "Keeping your account secure", lambda t, p: t.c.user_id == p.user_id),
    Holding("password_reset_tokens", "Account security", "Password resets",
            lambda t, p: t.c.user_id == p.user_id),
    Holding("email_confirmations", "Account security", "Confirming your email address",
            lambda t, p: t.c.user_id == p.user_id),
    Holding("held_forms", "Answers kept across an expired sign-in", "Not losing what you typed",
            lambda t, p: t.c.user_id == p.user_id),
    Holding("applications", "Application", "Selecting the cohort", lambda t, p: t.c.applicant_id == p.user_id),
    Holding("application_events", "Application history", "Selecting the cohort",
            lambda t, p: or_(_in(t.c.application_id, p.application_ids), t.c.actor_id == p.user_id)),
    Holding("sponsor_approvals", "Line manager's support", "Confirming release for the programme",
            lambda t, p: or_(_in(t.c.application_id, p.application_ids), t.c.recorded_by_id == p.user_id)),
    Holding("reviews", "Application reviews", "Selecting the cohort",
            lambda t, p: or_(_in(t.c.application_id, p.application_ids), t.c.reviewer_id == p.user_id)),
    Holding("review_assignments", "Application reviews", "Selecting the cohort",
            lambda t, p: or_(_in(t.c.application_id, p.application_ids), t.c.reviewer_id == p.user_id,
                             t.c.assigned_by_id == p.user_id)),
    Holding("session_facilitators", "Sessions you facilitate", "Running the programme",
            lambda t, p: t.c.user_id == p.user_id),
    Holding("enrolments", "Place on the programme", "Running the programme", lambda t, p: t.c.user_id == p.user_id),
    Holding("attendances", "Attendance", "Running the programme and supporting people who fall behind",
            lambda t, p: or_(_in(t.c.enrolment_id, p.enrolment_ids), t.c.recorded_by_id == p.user_id)),
    Holding("directory_entries", "People directory", "Helping participants find each other",
            lambda t, p: _in(t.c.enrolment_id, p.enrolment_ids)),
    Holding("threads", "Discussion", "The participants' portal", lambda t, p: t.c.author_id == p.user_id),
    Holding("posts", "Discussion (your posts, and posts you hid as a moderator)", "The participants' portal",
            lambda t, p: or_(t.c.author_id == p.user_id, t.c.hidden_by_id == p.user_id)),
    Holding("thread_subscriptions", "Discussions you follow or muted", "The participants' portal",
            lambda t, p: t.c.user_id == p.user_id),
    Holding("resource_progress", "Resources you marked done", "The participants' portal",
            lambda t, p: t.c.user_id == p.user_id),
    Holding("resources", "Shared resources (with files)", "The participants' portal",
            lambda t, p: t.c.uploaded_by_id == p.user_id),
    Holding("group_memberships", "Co-consulting group", "Running co-consulting",
            lambda t, p: _in(t.c.enrolment_id, p.enrolment_ids)),
    Holding("case_rotas", "Co-consulting rota", "Running co-consulting",
            lambda t, p: or_(_in(t.c.presenter_id, p.enrolment_ids), _in(t.c.timekeeper_id, p.enrolment_ids))),
    Holding("rota_swaps", "Co-consulting turns exchanged", "Running co-consulting",
            lambda t, p: or_(_in(t.c.first_presenter_id, p.enrolment_ids), _in(t.c.second_presenter_id, p.enrolment_ids),
                             t.c.requested_by_id == p.user_id)),
    Holding("clinic_signups", "Drop-in clinics", "Running the clinics", lambda t, p: _in(t.c.enrolment_id, p.enrolment_ids)),
    Holding("guests", "Celebration guests", "Running the celebration event",
            lambda t, p: or_(_in(t.c.invited_by_id, p.enrolment_ids), t.c.email == p.email)),
    Holding("celebration_participants", "Your answer for the celebration (with your needs)",
            "Running the celebration event", lambda t, p: _in(t.c.enrolment_id, p.enrolment_ids)),
    Holding("showcases", "Celebration showcases", "Running the celebration event",
            lambda t, p: _in(t.c.enrolment_id, p.enrolment_ids)),
    Holding("feedback_receipts", "Feedback given (not what was said)", "Evaluating the programme",
            lambda t, p: _in(t.c.enrolment_id, p.enrolment_ids)),
    Holding("feedback_responses", "Named feedback", "Evaluating the programme",
            lambda t, p: _in(t.c.enrolment_id, p.enrolment_ids)),
    Holding("communities", "Communities of practice you belong to", "Running your communities",
            lambda t, p: _in(t.c.id, p.community_ids)),
    Holding("community_memberships", "Your place in communities (convener or member)", "Running your communities",
            lambda t, p: t.c.user_id == p.user_id),
    Holding("community_invitations", "Invitations to communities (to you, or sent by you)", "Running your communities",
            lambda t, p: or_(t.c.email == p.email, t.c.user_id == p.user_id, t.c.invited_by_id == p.user_id)),
    Holding("community_meetings", "Meetings of the communities you convene", "Running your communities",
            lambda t, p: or_(_in(t.c.community_id, p.convened_ids), t.c.created_by_id == p.user_id)),
    Holding("meeting_attendances", "Community meeting registers", "Running your communities",
            lambda t, p: t.c.user_id == p.user_id),
    Holding("community_feedback_receipts", "Feedback given on community meetings (not what was said)",
            "Running your communities", lambda t, p: t.c.user_id == p.user_id),
    Holding("community_feedback_responses", "Named feedback on community meetings", "Running your communities",
            lambda t, p: t.c.user_id == p.user_id),
    Holding("programmes_of_work", "Programmes of work you set up (team)", "Running programmes of work",
            lambda t, p: t.c.created_by_id == p.user_id),
    Holding("programme_team_members", "Your place on programmes of work's teams", "Running programmes of work",
            lambda t, p: t.c.user_id == p.user_id),
    Holding("community_value_evidence", "Value evidence you recorded for a community", "Evaluating communities",
            lambda t, p: t.c.recorded_by_id == p.user_id),
    Holding("community_value_stories", "Value stories from your interviews, or that you recorded",
            "Evaluating communities", lambda t, p: or_(t.c.interviewee_id == p.user_id, t.c.recorded_by_id == p.user_id)),
    Holding("value_evidence", "Value evidence", "Evaluating the programme",
            lambda t, p: or_(_in(t.c.enrolment_id, p.enrolment_ids), t.c.recorded_by_id == p.user_id)),
    Holding("impact_stories", "Impact stories", "Evaluating the programme",
            lambda t, p: _in(t.c.enrolment_id, p.enrolment_ids)),
    Holding("programme_templates", "Programme templates you created (team)", "Running the programme",
            lambda t, p: t.c.created_by_id == p.user_id),
    Holding("cohort_reminder_rules", "Settings changed by staff", "Running the programme",
            lambda t, p: t.c.updated_by_id == p.user_id),
    Holding("outbox_messages", "Emails sent to you", "Telling you about the programme",
            lambda t, p: t.c.recipient == p.email),
    Holding("session_changes", "Schedule changes you made (team)", "Reporting how the year went",
            lambda t, p: t.c.actor_id == p.user_id),
    Holding("audit_events", "Audit log", "Security and accountability",
            lambda t, p: or_(t.c.actor_id == p.user_id, (t.c.target_type == "user") & (t.c.target_id == p.user_id))),
]

NO_PERSONAL_DATA = {
    "organisations", "programmes", "cohorts", "programme_modules", "programme_sessions", "co_consulting_groups",
    "feedback_settings", "report_narratives", "alembic_version", "apscheduler_jobs",
    # Anonymous answers held back sealed until feedback closes, and when it closed: linked to nobody.
    "feedback_sealed", "feedback_closures",
    # The same for community meetings, and each community's feedback questions.
    "community_feedback_sealed", "community_feedback_closures", "community_feedback_settings",
    "scheduler_heartbeats",  # host and process id of each scheduler, and when it last ran a job
}


def person_for(user) -> Person:
    tables = db.metadata.tables
    enrolments = tuple(db.session.scalars(select(tables["enrolments"].c.id).where(
        tables["enrolments"].c.user_id == user.id)))
    applications = tuple(db.session.scalars(select(tables["applications"].c.id).where(
        tables["applications"].c.applicant_id == user.id)))
    memberships = tables["community_memberships"]
    joined = db.session.execute(select(memberships.c.community_id, memberships.c.role).where(
        memberships.c.user_id == user.id)).all()
    return Person(user.id, user.email, enrolments, applications, tuple(c for c, _ in joined),
                  tuple(c for c, role in joined if role == "convener"))


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def collect(user) -> dict[str, list[dict]]:
    """Every row about this person, table by table (secrets withheld)."""
    person = person_for(user)
    found = {}
    for holding in HOLDINGS:
        table = db.metadata.tables[holding.table]
        rows = db.session.execute(select(table).where(holding.rows(table, person)).order_by(*table.primary_key)).all()
        found[holding.table] = [
            {key: ("(withheld: a security secret)" if key in SECRET_COLUMNS and value else _plain(value))
             for key, value in row._mapping.items()} for row in rows]
    return found


def subject_access_zip(user, *, now: datetime) -> bytes:
    """A ZIP: data.json (every table's rows), README.txt (what each part is) and the person's files."""
    data = collect(user)
    buffer = io.BytesIO()
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps({"person": {"id": user.id, "email": user.email},
                                                  "exported_at": now.isoformat(), "tables": data},
                                                 indent=2, ensure_ascii=False, default=str))
        lines = [f"Everything Convene holds about {user.name} <{user.email}>, exported {now:%d %B %Y %H:%M} UTC.", "",
                 "data.json has one list of records per table:", ""]
        for holding in HOLDINGS:
            lines.append(f"- {holding.table}: {holding.category} ({len(data[holding.table])}); "
                         f"used for: {holding.purpose}")
        lines += ["", "Anonymous feedback cannot be linked to anyone, so it is not included.",
                  "Passwords and security tokens are never included."]
        archive.writestr("README.txt", "\n".join(lines) + "\n")
        for resource in data["resources"]:
            stored = resource.get("stored_name")
            path = upload_dir / stored if stored else None
            if path is not None and path.is_file():
                archive.write(path, f"files/{resource['id']}-{Path(resource.get('original_name') or stored).name}")
    return buffer.getvalue()
