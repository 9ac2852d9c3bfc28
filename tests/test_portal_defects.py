"""Portal defects from the issue "Portal, co-consulting and the celebration": each reproduced first."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.audit import AuditEvent
from app.db import db
from app.errors import DomainError
from app.portal import services
from app.portal.models import Post, Resource
from app.portal.services import LibraryFilters, ResourceDetails
from app.portal.uploads import check_upload
from tests.conftest import csrf_token
from tests.factories import make_cohort, make_facilitator, make_participant, make_team
from tests.test_uploads import make_office

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PDF2 = b"%PDF-1.7\n2 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def link(actor, cohort, title, **kwargs):
    return services.share_resource(actor=actor, cohort=cohort, upload=None, now=clock.now(),
                                   details=ResourceDetails(title=title, url="https://example.org/x", **kwargs))


def search(user, cohort, q: str) -> set[str]:
    rows, _ = services.library_page(user, cohort, LibraryFilters(q=q), 1, clock.now())
    return {r.title for r in rows}


# -- 4. search wildcards ---------------------------------------------------------------------

def test_library_search_takes_percent_and_underscore_literally(frozen_now):
    cohort = make_cohort()
    team = make_team()
    link(team, cohort, "Value tools")
    link(team, cohort, "50% faster meetings")
    link(team, cohort, "file_name conventions")
    link(team, cohort, "filename habits")
    assert search(team, cohort, "%") == {"50% faster meetings"}
    assert search(team, cohort, "_") == {"file_name conventions"}
    assert search(team, cohort, "file_name") == {"file_name conventions"}
    assert search(team, cohort, "50%") == {"50% faster meetings"}
    assert search(team, cohort, "\\") == set()
    assert search(team, cohort, "VALUE") == {"Value tools"}  # still case-insensitive


def test_the_library_page_search_for_a_percent_sign_is_not_everything(client, login_as, frozen_now):
    cohort = make_cohort()
    team = make_team()
    link(team, cohort, "Value tools")
    link(team, cohort, "100% attendance")
    cohort_id = cohort.id
    login_as(team)
    page = client.get(f"/cohorts/{cohort_id}/library?q=%25").get_data(as_text=True)
    assert "100% attendance" in page and "Value tools" not in page


def test_library_headings_go_down_one_level_at_a_time(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    link(person, cohort, "Our notes")
    cohort_id = cohort.id
    login_as(person)
    page = client.get(f"/cohorts/{cohort_id}/library").get_data(as_text=True)
    levels = [int(n) for n in re.findall(r"<h([1-6])\b", page)]
    assert levels and levels[0] == 1
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), levels


# -- 5. release wording ----------------------------------------------------------------------

def test_staff_read_will_be_released_for_a_future_date_and_released_for_a_past_one(client, login_as, frozen_now):
    cohort = make_cohort()
    team = make_team()
    # 23:30 UTC on a summer evening is the next day in London: the date shown is London's.
    future = clock.now() + timedelta(days=200)
    future = future.replace(hour=23, minute=30, second=0, microsecond=0)
    link(team, cohort, "Later material", release_at=future)
    link(team, cohort, "Earlier material", release_at=clock.now() - timedelta(days=3))
    cohort_id = cohort.id
    login_as(team)
    page = client.get(f"/cohorts/{cohort_id}/library").get_data(as_text=True)
    from app.formatting import local_date
    london_day = local_date(future, "Europe/London")
    assert london_day != local_date(future, "UTC")  # the test means something only if the days differ
    assert f"Will be released to participants on {london_day}" in page
    assert f"Released to participants on {local_date(clock.now() - timedelta(days=3))}" in page
    assert f"Released to participants on {london_day}" not in page


# -- 6. edit windows said before typing ------------------------------------------------------

def test_post_edit_rule_is_one_function_the_service_and_pages_share(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    thread = services.start_thread(actor=person, cohort=cohort, title="T", body="Tpyo", module_number=None,
                                   now=clock.now())
    post = thread.posts[0]
    later = clock.now() + timedelta(minutes=31)
    assert services.post_edit_refusal(person, post, clock.now()) is None
    assert "30 minutes" in services.post_edit_refusal(person, post, later)
    with pytest.raises(DomainError, match="30 minutes"):
        services.edit_post(actor=person, post=post, body="Too late", now=later)
    thread_id, post_id = thread.id, post.id
    db.session.commit()
    login_as(person)
    page = client.get(f"/threads/{thread_id}").get_data(as_text=True)
    assert f"/posts/{post_id}/edit" in page
    frozen_now.shift(timedelta(minutes=31))
    page = client.get(f"/threads/{thread_id}").get_data(as_text=True)
    assert f"/posts/{post_id}/edit" not in page
    edit = client.get(f"/posts/{post_id}/edit")
    text = edit.get_data(as_text=True)
    assert "30 minutes" in text and "<textarea" not in text
    # A POST past the window is refused the same way and changes nothing.
    token = csrf_token(client, f"/threads/{thread_id}")
    client.post(f"/posts/{post_id}/edit", data={"csrf_token": token, "body": "Sneaky"})
    assert db.session.get(Post, post_id).body == "Tpyo"


def test_a_hidden_post_cannot_be_edited(frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    thread = services.start_thread(actor=person, cohort=cohort, title="T", body="x", module_number=None,
                                   now=clock.now())
    services.hide_post(actor=make_team(), post=thread.posts[0], reason="r", now=clock.now())
    assert services.post_edit_refusal(person, thread.posts[0], clock.now())
    with pytest.raises(DomainError):
        services.edit_post(actor=person, post=thread.posts[0], body="y", now=clock.now())


# -- 9. kind and replacing a file ------------------------------------------------------------

def test_the_share_form_has_no_kind_chosen_for_you(client, login_as, frozen_now):
    cohort = make_cohort()
    cohort_id = cohort.id
    login_as(make_participant(cohort))
    page = client.get(f"/cohorts/{cohort_id}/library/new").get_data(as_text=True)
    kind = re.search(r'<select[^>]*name="kind".*?</select>', page, re.S).group(0)
    assert re.search(r'<option[^>]*value=""[^>]*>Choose a kind</option>', kind)
    assert "selected" not in kind


def test_a_link_without_a_kind_is_refused(client, login_as, frozen_now):
    cohort = make_cohort()
    cohort_id = cohort.id
    login_as(make_participant(cohort))
    token = csrf_token(client, f"/cohorts/{cohort_id}/library/new")
    page = client.post(f"/cohorts/{cohort_id}/library/new", data={
        "csrf_token": token, "title": "A site", "kind": "", "url": "https://example.org/site"})
    assert "Choose what kind of resource this is" in page.get_data(as_text=True)
    assert db.session.scalars(select(Resource)).all() == []


@pytest.mark.parametrize(("name", "data", "kind"), [
    ("charter.pdf", PDF, "reading"),
    ("deck.pptx", make_office("pptx"), "slides"),
    ("budget.xlsx", make_office("xlsx"), "template"),
])
def test_a_file_without_a_kind_gets_one_from_its_type(client, login_as, frozen_now, name, data, kind):
    cohort = make_cohort()
    cohort_id = cohort.id
    login_as(make_participant(cohort))
    token = csrf_token(client, f"/cohorts/{cohort_id}/library/new")
    client.post(f"/cohorts/{cohort_id}/library/new", data={
        "csrf_token": token, "title": "A file", "kind": "", "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data")
    assert db.session.scalars(select(Resource)).one().kind == kind


def test_a_chosen_kind_wins_over_the_file_type(frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    resource = services.share_resource(actor=person, cohort=cohort, now=clock.now(),
                                       upload=check_upload("deck.pdf", PDF, 10**6),
                                       details=ResourceDetails(title="Deck", kind="slides"))
    assert resource.kind == "slides"


def _shared_file(app, person, cohort):
    resource = services.share_resource(actor=person, cohort=cohort, now=clock.now(),
                                       upload=check_upload("old.pdf", PDF, 10**6),
                                       details=ResourceDetails(title="Charter", kind="reading"))
    services.start_thread(actor=person, cohort=cohort, title="About it", body="x", module_number=None,
                          now=clock.now())
    db.session.commit()
    return resource


def test_the_owner_replaces_the_file_keeping_the_resource(app, client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    resource = _shared_file(app, person, cohort)
    resource_id, old_name, cohort_id = resource.id, resource.stored_name, cohort.id
    old_path = app.config["UPLOAD_DIR"] / old_name
    assert old_path.exists()
    login_as(person)
    page = client.get(f"/resources/{resource_id}").get_data(as_text=True)
    assert f"/resources/{resource_id}/replace" in page and "Replace the file" in page
    token = csrf_token(client, f"/resources/{resource_id}/replace")
    response = client.post(f"/resources/{resource_id}/replace", data={
        "csrf_token": token, "file": (io.BytesIO(PDF2), "new version.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/resources/{resource_id}")
    db.session.expire_all()
    resource = db.session.get(Resource, resource_id)
    assert resource.original_name == "new version.pdf" and resource.stored_name != old_name
    assert resource.cohort_id == cohort_id and resource.title == "Charter"
    assert (app.config["UPLOAD_DIR"] / resource.stored_name).read_bytes() == PDF2
    assert not old_path.exists()  # removed once the change was committed
    download = client.get(f"/resources/{resource_id}/download")
    assert download.data == PDF2
    download.close()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "resource_file_replaced")).one()
    assert (event.actor_id, event.target_id) == (person.id, resource_id)


def test_a_replacement_gets_the_same_upload_checks_and_keeps_the_old_file(app, client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    resource = _shared_file(app, person, cohort)
    resource_id, old_name = resource.id, resource.stored_name
    login_as(person)
    token = csrf_token(client, f"/resources/{resource_id}/replace")
    page = client.post(f"/resources/{resource_id}/replace", data={
        "csrf_token": token, "file": (io.BytesIO(b"MZ\x90\x00exe"), "new.pdf")}, content_type="multipart/form-data")
    assert "does not match its name" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Resource, resource_id).stored_name == old_name
    assert (app.config["UPLOAD_DIR"] / old_name).exists()


def test_only_the_owner_and_the_team_replace_a_file(app, client, login_as, frozen_now):
    cohort = make_cohort()
    owner, other = make_participant(cohort), make_participant(cohort)
    resource = _shared_file(app, owner, cohort)
    with pytest.raises(services.PermissionDenied):
        services.replace_resource_file(actor=other, resource=resource,
                                       upload=check_upload("x.pdf", PDF2, 10**6), now=clock.now())
    with pytest.raises(services.PermissionDenied):
        services.replace_resource_file(actor=make_facilitator(), resource=resource,
                                       upload=check_upload("x.pdf", PDF2, 10**6), now=clock.now())
    old = services.replace_resource_file(actor=make_team(), resource=resource,
                                         upload=check_upload("x.pdf", PDF2, 10**6), now=clock.now())
    assert old != resource.stored_name
    resource_id = resource.id
    db.session.commit()
    login_as(other)
    assert client.get(f"/resources/{resource_id}/replace").status_code == 403


def test_a_link_has_no_file_to_replace(frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    resource = link(person, cohort, "A link")
    with pytest.raises(DomainError, match="link"):
        services.replace_resource_file(actor=person, resource=resource,
                                       upload=check_upload("x.pdf", PDF2, 10**6), now=clock.now())


def test_a_deleted_resource_keeps_its_file_until_the_delete_is_committed(app, client, login_as, frozen_now,
                                                                         monkeypatch):
    """Deleting removed the file before the row's delete was committed: a failed commit left a resource
    whose download was gone. The file now goes only once the delete is saved."""
    cohort = make_cohort()
    person = make_participant(cohort)
    resource = _shared_file(app, person, cohort)
    resource_id, path = resource.id, app.config["UPLOAD_DIR"] / resource.stored_name
    login_as(person)
    token = csrf_token(client, f"/resources/{resource_id}")

    commit, calls = db.session.commit, []

    def failing_commit():  # the test client commits the test's own writes first; the view's commit fails
        calls.append(1)
        if len(calls) == 1:
            return commit()
        raise RuntimeError("the database went away")

    with monkeypatch.context() as patch:
        patch.setattr(db.session, "commit", failing_commit)
        with pytest.raises(RuntimeError):
            client.post(f"/resources/{resource_id}/delete", data={"csrf_token": token})
    db.session.rollback()
    assert db.session.get(Resource, resource_id) is not None
    assert path.exists(), "the file of a resource that still exists was deleted"
    response = client.post(f"/resources/{resource_id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    assert db.session.get(Resource, resource_id) is None
    assert not path.exists()
