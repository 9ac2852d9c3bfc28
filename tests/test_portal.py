"""The portal: visibility and release dates, sharing and uploads, Markdown, discussion, directory."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from app import clock
from app.audit import AuditEvent
from app.db import db
from app.errors import DomainError, PermissionDenied
from app.notifications.models import OutboxMessage
from app.portal import services
from app.portal.models import Post, Resource
from app.portal.services import LibraryFilters, ResourceDetails
from app.portal.uploads import check_upload
from tests.conftest import csrf_token
from tests.factories import make_cohort, make_facilitator, make_participant, make_team, make_user

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def link(actor, cohort, title="A link", **kwargs):
    return services.share_resource(actor=actor, cohort=cohort, upload=None, now=clock.now(),
                                   details=ResourceDetails(title=title, url="https://example.org/x", **kwargs))


def titles(user, cohort) -> list[str]:
    rows, _ = services.library_page(user, cohort, LibraryFilters(), 1, clock.now())
    return [r.title for r in rows]


def test_release_dates_hide_material_from_participants_until_the_day(frozen_now):
    cohort = make_cohort()
    team = make_team()
    person = make_participant(cohort)
    later = link(team, cohort, "Value tools", module_number=4, release_at=clock.now() + timedelta(days=30))
    assert "Value tools" not in titles(person, cohort)
    assert "Value tools" in titles(team, cohort)  # the team sees everything
    assert not services.can_see_resource(person, later, clock.now())
    # Releasing early is a change of date.
    services.update_resource(actor=team, resource=later, cohort=cohort, details=ResourceDetails(
        title="Value tools", url="https://example.org/x", module_number=4, release_at=clock.now()))
    assert "Value tools" in titles(person, cohort)


def test_cohort_and_programme_wide_visibility(frozen_now):
    mine, theirs = make_cohort(), make_cohort()
    team = make_team()
    me, them = make_participant(mine), make_participant(theirs)
    link(team, mine, "Everyone's guide", all_cohorts=True)
    link(them, theirs, "Their own notes")
    link(me, mine, "My notes")
    assert set(titles(me, mine)) == {"Everyone's guide", "My notes"}
    assert set(titles(them, theirs)) == {"Everyone's guide", "Their own notes"}
    assert titles(me, theirs) == []  # a participant asking for another cohort's library gets nothing
    theirs_resource = db.session.scalars(select(Resource).where(Resource.title == "Their own notes")).one()
    assert not services.can_see_resource(me, theirs_resource, clock.now())


def test_participants_cannot_share_programme_wide_or_into_another_cohort(frozen_now):
    mine, theirs = make_cohort(), make_cohort()
    me = make_participant(mine)
    resource = link(me, mine, all_cohorts=True, release_at=clock.now() + timedelta(days=9))
    assert resource.cohort_id == mine.id and resource.release_at is None and not resource.is_material
    with pytest.raises(PermissionDenied):
        link(me, theirs)


def test_only_owners_and_the_team_change_resources(frozen_now):
    cohort = make_cohort()
    owner, other = make_participant(cohort), make_participant(cohort)
    resource = link(owner, cohort)
    with pytest.raises(PermissionDenied):
        services.update_resource(actor=other, resource=resource, cohort=cohort,
                                 details=ResourceDetails(title="Mine now", url="https://example.org/y"))
    with pytest.raises(PermissionDenied):
        services.delete_resource(actor=make_facilitator(), resource=resource)
    services.delete_resource(actor=make_team(), resource=resource)
    assert db.session.scalars(select(AuditEvent.action)).all() == ["resource_deleted"]


def test_uploading_a_file_stores_it_under_a_random_name_and_downloads_as_an_attachment(app, client, login_as,
                                                                                        frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    login_as(person)
    token = csrf_token(client, f"/cohorts/{cohort.id}/library/new")
    response = client.post(f"/cohorts/{cohort.id}/library/new", data={
        "csrf_token": token, "title": "Our charter", "kind": "template", "module_number": "1", "tags": "charter, purpose",
        "file": (io.BytesIO(PDF), "../../etc/Our charter.pdf")}, content_type="multipart/form-data",
        follow_redirects=True)
    assert "Our charter is in the library" in response.get_data(as_text=True)
    resource = db.session.scalars(select(Resource)).one()
    assert resource.original_name == "Our charter.pdf" and resource.mimetype == "application/pdf"
    assert resource.stored_name != resource.original_name and len(resource.sha256) == 64
    assert (app.config["UPLOAD_DIR"] / resource.stored_name).read_bytes() == PDF
    download = client.get(f"/resources/{resource.id}/download")
    assert download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]
    download.close()


@pytest.mark.parametrize(("name", "data", "message"), [
    ("notes.html", b"<html><script>alert(1)</script></html>", "This type of file cannot be uploaded"),
    ("picture.svg", b"<svg onload='alert(1)'/>", "This type of file cannot be uploaded"),
    ("report.pdf", b"MZ\x90\x00this is an exe", "does not match its name"),
    ("notes.txt", b"<!doctype html><script>x()</script>", "does not match its name"),
])
def test_a_wrong_or_disguised_file_gets_a_clear_message_and_keeps_the_form(client, login_as, name, data, message):
    cohort = make_cohort()
    login_as(make_participant(cohort))
    token = csrf_token(client, f"/cohorts/{cohort.id}/library/new")
    page = client.post(f"/cohorts/{cohort.id}/library/new", data={
        "csrf_token": token, "title": "Kept title", "description": "Kept description", "kind": "reading",
        "file": (io.BytesIO(data), name)}, content_type="multipart/form-data").get_data(as_text=True)
    assert message in page
    assert 'value="Kept title"' in page and "Kept description" in page
    assert db.session.scalar(select(func.count()).select_from(Resource)) == 0


def test_a_too_large_file_is_refused_with_the_limit(app, client, login_as):
    cohort = make_cohort()
    login_as(make_participant(cohort))
    app.config["MAX_UPLOAD_BYTES"] = 1024
    try:
        token = csrf_token(client, f"/cohorts/{cohort.id}/library/new")
        page = client.post(f"/cohorts/{cohort.id}/library/new", data={
            "csrf_token": token, "title": "Big", "kind": "reading",
            "file": (io.BytesIO(PDF + b"0" * 2048), "big.pdf")}, content_type="multipart/form-data").get_data(as_text=True)
    finally:
        app.config["MAX_UPLOAD_BYTES"] = 20 * 1024 * 1024
    assert "smaller than" in page and 'value="Big"' in page


def test_office_files_are_checked_inside():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    assert check_upload("plan.docx", buffer.getvalue(), 10_000).kind == "docx"
    with pytest.raises(DomainError):
        check_upload("plan.xlsx", buffer.getvalue(), 10_000)


def test_markdown_posts_are_sanitised(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    body = ("**Welcome** <script>alert(1)</script> [click](javascript:alert(2)) "
            "<img src=x onerror=alert(3)> [ok](https://example.org)")
    thread = services.start_thread(actor=person, cohort=cohort, title="Hello", body=body, module_number=None,
                                   now=clock.now())
    login_as(person)
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert "<strong>Welcome</strong>" in page
    assert "<script>alert" not in page and 'href="javascript' not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)" in page  # shown as text, never run
    assert 'href="https://example.org"' in page


def test_new_posts_notify_others_at_most_once_an_hour_per_thread(frozen_now):
    cohort = make_cohort()
    a, b, c = (make_participant(cohort) for _ in range(3))
    thread = services.start_thread(actor=a, cohort=cohort, title="Value stories", body="First", module_number=4,
                                   now=clock.now())
    services.add_post(actor=b, thread=thread, body="Second", now=clock.now())
    services.add_post(actor=c, thread=thread, body="Third", now=clock.now() + timedelta(minutes=10))
    services.add_post(actor=b, thread=thread, body="Fourth", now=clock.now() + timedelta(minutes=20))
    messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    recipients = sorted(m.recipient for m in messages)
    assert recipients == sorted([a.email, b.email, c.email])  # one each in this hour, never the poster's own
    frozen_now.shift(timedelta(hours=1))
    services.add_post(actor=a, thread=thread, body="Next hour", now=clock.now())
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 5  # b and c again


def test_posts_can_be_edited_for_30_minutes_and_hidden_by_the_team(frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    thread = services.start_thread(actor=person, cohort=cohort, title="T", body="Tpyo", module_number=None,
                                   now=clock.now())
    post = thread.posts[0]
    services.edit_post(actor=person, post=post, body="Typo fixed", now=clock.now() + timedelta(minutes=29))
    with pytest.raises(DomainError, match="30 minutes"):
        services.edit_post(actor=person, post=post, body="Too late", now=clock.now() + timedelta(minutes=31))
    with pytest.raises(PermissionDenied):  # facilitators moderate too (tests/test_moderation.py); participants do not
        services.hide_post(actor=make_participant(cohort), post=post, reason="x", now=clock.now())
    team = make_team()
    services.hide_post(actor=team, post=post, reason="Shared a patient's details", now=clock.now())
    assert db.session.get(Post, post.id).is_hidden
    event = db.session.scalars(select(AuditEvent)).one()
    assert (event.action, event.actor_id) == ("post_hidden", team.id)


def test_the_directory_respects_each_persons_choices(client, login_as):
    cohort = make_cohort()
    shown = make_participant(cohort, name="Shown Person", job_title="Pharmacist")
    private = make_participant(cohort, name="Private Person", job_title="Secret role")
    login_as(shown)  # nobody is listed until they choose (tests/test_home_and_directory.py)
    client.post("/settings/directory", data={"csrf_token": csrf_token(client, "/settings/directory"), "is_listed": "y",
                                             "show_role": "y", "show_organisation": "y", "show_cop": "y"})
    login_as(private)
    token = csrf_token(client, "/settings/directory")
    client.post("/settings/directory", data={"csrf_token": token, "is_listed": "y"})  # everything else off
    login_as(shown)
    page = client.get(f"/cohorts/{cohort.id}/people").get_data(as_text=True)
    assert "Shown Person" in page and "Pharmacist" in page
    assert "Private Person" in page and "Secret role" not in page
    assert shown.email not in page  # emails are hidden unless chosen
    login_as(make_user())
    assert client.get(f"/cohorts/{cohort.id}/people").status_code == 404


def test_the_library_page_makes_the_same_number_of_queries_for_3_or_60_resources(app, client, login_as,
                                                                                   frozen_now):
    small, big = make_cohort(), make_cohort()
    team = make_team()
    for i in range(3):
        link(team, small, f"Small {i}", tags="value")
    for i in range(60):
        link(team, big, f"Big {i}", tags="value, tools")
    login_as(team)
    ids = [small.id, big.id]
    db.session.commit()
    counts = []
    for cohort_id in ids:
        statements = []

        def before(_c, _cur, statement, *_a, sink=statements):
            if not statement.startswith("BEGIN"):
                sink.append(statement)

        event.listen(db.engine, "before_cursor_execute", before)
        page = client.get(f"/cohorts/{cohort_id}/library?q=value")
        event.remove(db.engine, "before_cursor_execute", before)
        assert page.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1] and counts[0] <= 10, counts
    first = client.get(f"/cohorts/{ids[1]}/library?q=value").get_data(as_text=True)
    assert "60 resources, page 1 of 3" in first
    assert f"/cohorts/{ids[1]}/library?page=2&amp;q=value" in first and "Previous" not in first
    second = client.get(f"/cohorts/{ids[1]}/library?q=value&page=2").get_data(as_text=True)
    assert "Page 1" in second and "Page 3" in second


def test_the_module_page_shows_content_sessions_and_materials(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    link(make_team(), cohort, "Module 2 slides", module_number=2, kind="slides")
    login_as(person)
    page = client.get(f"/cohorts/{cohort.id}/modules/2").get_data(as_text=True)
    assert "Building relationships" in page and "Module 2 slides" in page
    assert "Before the module" in page and "day 1" in page


def test_a_busy_module_page_shows_its_first_resources_and_links_to_the_rest(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    for n in range(services.MODULE_PAGE_LIMIT + 5):
        services.share_resource(actor=person, cohort=cohort, upload=None, now=clock.now(), details=ResourceDetails(
            title=f"Shared resource {n:02d}", url=f"https://example.org/{n}", module_number=2))
    cohort_id = cohort.id
    login_as(person)
    page = client.get(f"/cohorts/{cohort_id}/modules/2").get_data(as_text=True)
    assert len(re.findall(r">Shared resource \d+</a>", page)) == services.MODULE_PAGE_LIMIT
    assert f"See all {services.MODULE_PAGE_LIMIT + 5} resources for module 2 in the library" in page
    assert f"/cohorts/{cohort_id}/library?module=2" in page
