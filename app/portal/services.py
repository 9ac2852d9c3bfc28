"""Portal rules: who sees which resource and when, sharing and editing, discussion, the directory."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import selectinload

from app import audit
from app.applications.models import Application
from app.auth.models import Organisation, User
from app.db import db
from app.errors import DomainError, PermissionDenied
from app.portal.discussion import (  # noqa: F401  (re-exported: the discussion's rules live in portal.discussion)
    add_post,
    edit_post,
    hide_post,
    post_edit_refusal,
    start_thread,
    threads_of,
)
from app.portal.models import DirectoryEntry, Resource, ResourceKind
from app.portal.uploads import CheckedUpload, path_for, store
from app.programme.access import is_participant_of
from app.programme.models import Cohort, Enrolment, EnrolmentStatus, ProgrammeSession
from app.programme.services import cohort_sessions

PAGE_SIZE = 20


# -- visibility ------------------------------------------------------------------------------

def visible_resources(user: User, cohort: Cohort, now: datetime):
    """The query for every resource this person may see in this cohort's library."""
    query = select(Resource).where(or_(Resource.cohort_id == cohort.id, Resource.cohort_id.is_(None)))
    if not user.is_staff:
        if not is_participant_of(user, cohort.id):
            return query.where(false())
        query = query.where(or_(Resource.release_at.is_(None), Resource.release_at <= now))
    return query


def can_see_resource(user: User, resource: Resource, now: datetime) -> bool:
    if user.is_staff:
        return True
    if resource.cohort_id is not None and not is_participant_of(user, resource.cohort_id):
        return False
    if resource.cohort_id is None and not db.session.scalar(
            select(Enrolment.id).where(Enrolment.user_id == user.id, Enrolment.status == EnrolmentStatus.ACTIVE.value)):
        return False
    return resource.is_released(now)


def can_change_resource(user: User, resource: Resource) -> bool:
    return user.is_team or (resource.uploaded_by_id == user.id)


@dataclass
class LibraryFilters:
    q: str = ""
    module: int | None = None
    kind: str | None = None


def library_page(user: User, cohort: Cohort, filters: LibraryFilters, page: int, now: datetime):
    """One page of the library, newest first, and the total (two queries plus the uploader names)."""
    query = visible_resources(user, cohort, now)
    if filters.q:
        # Typed text is matched literally: autoescape makes % and _ (and the escape character) plain characters.
        query = query.where(or_(*(column.icontains(filters.q, autoescape=True)
                                  for column in (Resource.title, Resource.description, Resource.tags))))
    if filters.module:
        query = query.where(Resource.module_number == filters.module)
    if filters.kind:
        query = query.where(Resource.kind == filters.kind)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.options(selectinload(Resource.uploaded_by))
                              .order_by(Resource.created_at.desc(), Resource.id.desc())
                              .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return list(rows), total


def page_count(total: int) -> int:
    """How many library pages `total` resources fill (one page even when there are none)."""
    return max(1, math.ceil(total / PAGE_SIZE))


# The module page lists this many of its resources (materials first); the library has them all.
MODULE_PAGE_LIMIT = 15


def module_resources(user: User, cohort: Cohort, number: int, now: datetime) -> tuple[list[Resource], int]:
    """The first resources of a module for its page, and how many it has in all."""
    query = visible_resources(user, cohort, now).where(Resource.module_number == number)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    shown = db.session.scalars(query.order_by(Resource.is_material.desc(), Resource.created_at)
                               .limit(MODULE_PAGE_LIMIT)).all()
    return list(shown), total


def module_sessions(cohort: Cohort, number: int) -> list[ProgrammeSession]:
    """The cohort's sessions about one module, in schedule order."""
    return [s for s in cohort_sessions(cohort.id) if s.module and s.module.number == number]


# -- sharing ---------------------------------------------------------------------------------

@dataclass
class ResourceDetails:
    title: str
    description: str = ""
    tags: str = ""
    kind: str = ResourceKind.OTHER.value  # "" when not chosen: a file's type then decides
    url: str = ""
    module_number: int | None = None
    session_id: int | None = None
    release_at: datetime | None = None
    all_cohorts: bool = False


# What a file most likely is when its sharer did not say: a guess they can change, never a default that lies.
_KIND_BY_FILE_TYPE = {
    "pptx": ResourceKind.SLIDES, "pdf": ResourceKind.READING, "docx": ResourceKind.READING,
    "txt": ResourceKind.READING, "md": ResourceKind.READING, "xlsx": ResourceKind.TEMPLATE,
    "csv": ResourceKind.TEMPLATE,
}


def kind_for_file(file_type: str) -> str:
    """The resource kind for a checked upload's type (`CheckedUpload.kind`): pptx is slides, pdf reading..."""
    return _KIND_BY_FILE_TYPE.get(file_type, ResourceKind.OTHER).value


def _apply(resource: Resource, cohort: Cohort, details: ResourceDetails, actor: User) -> None:
    title = details.title.strip()
    if not title:
        raise DomainError("Give the resource a title.", field="title")
    try:
        ResourceKind(details.kind)
    except ValueError:
        raise DomainError("Choose what kind of resource this is.", field="kind") from None
    if details.module_number is not None and details.module_number not in range(1, 6):
        raise DomainError("Choose a module from 1 to 5.", field="module_number")
    if details.session_id is not None:
        session = db.session.get(ProgrammeSession, details.session_id)
        if session is None or session.cohort_id != cohort.id:
            raise DomainError("Choose a session of this cohort.", field="session_id")
    resource.title = title[:200]
    resource.description = details.description.strip()
    resource.tags = ", ".join(t.strip() for t in details.tags.split(",") if t.strip())[:300]
    resource.kind = details.kind
    resource.module_number = details.module_number
    resource.session_id = details.session_id
    if actor.is_staff:
        resource.release_at = details.release_at
        resource.cohort_id = None if details.all_cohorts and actor.is_team else cohort.id
    else:
        resource.cohort_id = cohort.id


def share_resource(*, actor: User, cohort: Cohort, details: ResourceDetails, upload: CheckedUpload | None,
                   now: datetime) -> Resource:
    """A participant shares, or the team or a facilitator adds material: a file or a link."""
    if not (actor.is_staff or is_participant_of(actor, cohort.id)):
        raise PermissionDenied("Only this cohort's participants and the programme team can add resources here.")
    url = details.url.strip()
    if bool(url) == bool(upload):
        raise DomainError("Upload a file or give a link (one or the other).", field="file")
    if url and not url.startswith(("https://", "http://")):
        raise DomainError("A link must start with https:// or http://", field="url")
    if not details.kind and upload is not None:
        details = replace(details, kind=kind_for_file(upload.kind))
    resource = Resource(uploaded_by_id=actor.id, is_material=actor.is_staff, url=url[:500])
    _apply(resource, cohort, details, actor)
    if upload is not None:
        resource.stored_name = store(upload, Path(current_app.config["UPLOAD_DIR"]))
        resource.original_name, resource.mimetype = upload.original_name, upload.mimetype
        resource.size, resource.sha256 = upload.size, upload.sha256
    db.session.add(resource)
    db.session.flush()
    return resource


def update_resource(*, actor: User, resource: Resource, cohort: Cohort, details: ResourceDetails) -> None:
    if not can_change_resource(actor, resource):
        raise PermissionDenied("You can only change resources you shared.")
    if resource.url:
        url = details.url.strip()
        if not url.startswith(("https://", "http://")):
            raise DomainError("A link must start with https:// or http://", field="url")
        resource.url = url[:500]
    _apply(resource, cohort, details, actor)
    db.session.flush()


def replace_resource_file(*, actor: User, resource: Resource, upload: CheckedUpload, now: datetime) -> str:
    """Put a new file in place of a resource's file, keeping the resource (its id, links and discussion).

    Returns the old file's stored name: the caller removes it from disk once the change is committed,
    so a rolled-back replacement still has its file.
    """
    if not can_change_resource(actor, resource):
        raise PermissionDenied("You can only replace the file of a resource you shared.")
    if not resource.is_file:
        raise DomainError("This resource is a link, not a file: edit it to change the link.", field="file")
    old = {"name": resource.original_name, "sha256": resource.sha256}
    old_stored_name = resource.stored_name
    resource.stored_name = store(upload, Path(current_app.config["UPLOAD_DIR"]))
    resource.original_name, resource.mimetype = upload.original_name, upload.mimetype
    resource.size, resource.sha256 = upload.size, upload.sha256
    audit.record(actor=actor, action="resource_file_replaced", target_type="resource", target_id=resource.id,
                 detail={"old": old, "new": {"name": upload.original_name, "sha256": upload.sha256}}, now=now)
    db.session.flush()
    return old_stored_name


def remove_stored_file(stored_name: str | None) -> None:
    """Remove a file no row refers to any more (call after the commit that let go of it)."""
    if stored_name:
        try:
            path_for(Path(current_app.config["UPLOAD_DIR"]), stored_name).unlink(missing_ok=True)
        except ValueError:
            pass


def delete_resource(*, actor: User, resource: Resource) -> str | None:
    """Delete a resource. Returns its file's stored name (or None): the caller removes the file with
    `remove_stored_file` once the delete is committed, so a rolled-back delete still has its file."""
    if not can_change_resource(actor, resource):
        raise PermissionDenied("You can only delete resources you shared.")
    stored_name = resource.stored_name
    audit.record(actor=actor, action="resource_deleted", target_type="resource", target_id=resource.id,
                 detail={"title": resource.title})
    db.session.delete(resource)
    db.session.flush()
    return stored_name


# -- people ----------------------------------------------------------------------------------

@dataclass
class Person:
    name: str
    role: str
    organisation: str
    cop: str
    email: str


@dataclass
class Directory:
    """A cohort's people directory: who is listed, and how many have not yet said what to show (no names)."""

    people: list[Person]
    unchosen: int


def directory(cohort: Cohort) -> Directory:
    """Only people who have saved their choices are listed: nobody is shown until they say so."""
    rows = db.session.execute(
        select(User.name, User.job_title, Organisation.name, User.email, Application.cop_title, DirectoryEntry)
        .select_from(Enrolment).join(User, User.id == Enrolment.user_id)
        .outerjoin(Organisation, Organisation.id == User.organisation_id)
        .outerjoin(Application, (Application.applicant_id == User.id) & (Application.cohort_id == cohort.id))
        .outerjoin(DirectoryEntry, DirectoryEntry.enrolment_id == Enrolment.id)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE.value)
        .order_by(User.name)).all()
    people, unchosen = [], 0
    for name, role, organisation, email, cop, entry in rows:
        if entry is None:
            unchosen += 1
            continue
        if not entry.is_listed:
            continue
        people.append(Person(name, role if entry.show_role else "", (organisation or "") if entry.show_organisation
                             else "", (cop or "") if entry.show_cop else "", email if entry.show_email else ""))
    return Directory(people=people, unchosen=unchosen)


def _default_entry(enrolment: Enrolment) -> DirectoryEntry:
    """What the choices form starts from: not listed (privacy by default), with the usual details ticked for
    when the person does list themselves. Saved only when they press Save."""
    return DirectoryEntry(enrolment_id=enrolment.id, is_listed=False, show_role=True, show_organisation=True,
                          show_cop=True, show_email=False)


def directory_choices(enrolment: Enrolment) -> DirectoryEntry:
    """What a participant has chosen to show in the directory (the starting point, unsaved, until they choose)."""
    return db.session.get(DirectoryEntry, enrolment.id) or _default_entry(enrolment)


@dataclass
class DirectoryPanel:
    """The home page's part from the directory: whether to ask the person to choose what it shows."""

    has_chosen: bool


def directory_home_panel(user: User, cohort: Cohort, now: datetime) -> DirectoryPanel:
    """A home-panel provider (`app.programme.home_panels`): one query."""
    chosen = db.session.scalar(
        select(DirectoryEntry.enrolment_id).join(Enrolment, Enrolment.id == DirectoryEntry.enrolment_id)
        .where(Enrolment.user_id == user.id, Enrolment.cohort_id == cohort.id).limit(1))
    return DirectoryPanel(has_chosen=chosen is not None)


def save_directory_choices(*, enrolment: Enrolment, is_listed: bool, show_role: bool, show_organisation: bool,
                           show_cop: bool, show_email: bool) -> DirectoryEntry:
    entry = directory_entry(enrolment)
    entry.is_listed, entry.show_role, entry.show_organisation = is_listed, show_role, show_organisation
    entry.show_cop, entry.show_email = show_cop, show_email
    db.session.flush()
    return entry


def directory_entry(enrolment: Enrolment) -> DirectoryEntry:
    entry = db.session.get(DirectoryEntry, enrolment.id)
    if entry is None:
        entry = _default_entry(enrolment)
        db.session.add(entry)
    return entry


def session_deletion_notes(session: ProgrammeSession) -> list[str]:
    """For the team's page before a session is deleted (`app.programme.signals.register_deletion_notes`)."""
    tied = db.session.scalar(select(func.count()).select_from(Resource).where(Resource.session_id == session.id))
    if not tied:
        return []
    return [f"{tied} resource{'s' if tied != 1 else ''} about it stay{'s' if tied == 1 else ''} in the library, "
            "no longer tied to a session."]
