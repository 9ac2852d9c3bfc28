"""Junk into every form: every POST route in app.url_map, signed in as the team and as a participant with a
valid CSRF token, gets random strings, huge and negative numbers, unicode, missing fields and junk keys for
every field name the application knows. Refusals (400, 403, 404, 409, 429) and the usual answers (200, 302) are
fine; a 500 never is."""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import pytest

from tests.conftest import sign_in_client
from tests.test_access import EXPECTED, world  # noqa: F401  (world is a fixture)

APP_DIR = Path(__file__).resolve().parent.parent / "app"
ALLOWED = {200, 302, 400, 403, 404, 409, 413, 429}

JUNK = [
    "",
    "not a number",
    "-1",
    "99999999999999999999999999",
    "1e309",
    "NaN",
    "2026-02-30",
    "9999-12-31T25:61",
    "//evil.example/next",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "ünïcödé ✓ 漢字 \U0001f600",
    "\u202e\u200b",
    "x" * 5000,
]
# Field names with a number after them, as the forms that name rows write them.
PREFIXES = ("position-", "status-", "note-")
JUNK_KEYS = ["position-abc", "position--1", "position-99999999999999999999", "position-1.5", "status-x", "note-",
             "status-99999999999999999999"]


def _field_names() -> list[str]:
    """Every form field name the application uses: template inputs, WTForms fields, request.form reads."""
    names: set[str] = set()
    for path in APP_DIR.rglob("*.html"):
        names |= set(re.findall(r'name="([A-Za-z_][\w\-]*)"', path.read_text()))
    for path in APP_DIR.rglob("*.py"):
        text = path.read_text()
        names |= set(re.findall(r"^\s+([a-z_]\w*)\s*=\s*\w+Field\(", text, flags=re.M))
        names |= set(re.findall(r"request\.(?:form|files|args)\.(?:get|getlist)\(\"([^\"]+)\"", text))
    names.discard("csrf_token")
    return sorted(names)


def _post_routes(app) -> list[tuple[str, str]]:
    """(endpoint, path template) of every rule that answers POST."""
    routes = []
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and rule.endpoint != "static":
            routes.append((rule.endpoint, EXPECTED[rule.endpoint][1]))
    return sorted(routes)


def _signed_in_client(app, person):
    client = sign_in_client(app.test_client(), person)
    page = client.get("/password/forgot").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client, token


@pytest.mark.parametrize("who", ["team", "participant"])
def test_junk_in_every_post_route_never_answers_500(app, world, who):  # noqa: F811
    from app.db import db

    people, ids, _ = world
    names = _field_names()
    assert len(names) > 40 and "title" in names
    routes = _post_routes(app)
    assert len(routes) > 40
    failures = []
    for endpoint, template in routes:
        url = template.format(**ids)
        bodies = [{}]  # every field missing
        bodies += [{name: value for name in names} for value in JUNK]
        bodies += [{key: "1" for key in JUNK_KEYS}, {f"{p}{n}": "junk" for p in PREFIXES for n in ("1", "-7", "1e9")}]
        # Several values for one name (getlist) and a mix of junk across fields.
        bodies.append({name: [JUNK[i % len(JUNK)], JUNK[(i + 5) % len(JUNK)]] for i, name in enumerate(names)})
        client, token = _signed_in_client(app, people[who])
        for body in bodies:
            try:
                response = client.post(url, data={**body, "csrf_token": token})
            except Exception as error:  # noqa: BLE001  (TESTING propagates what would be a 500)
                where = next((f"{f.filename.split('/app/')[-1]}:{f.lineno}" for f in
                              reversed(traceback.extract_tb(error.__traceback__)) if "/app/" in f.filename), "")
                failures.append(f"{who} {endpoint} {url}: {type(error).__name__}: {str(error)[:120]} at {where}")
                db.session.rollback()
                break
            if response.status_code not in ALLOWED:
                failures.append(f"{who} {endpoint} {url} {str(body)[:80]}: {response.status_code}")
                break
            if endpoint.startswith("auth.") or response.status_code == 302 and "/sign-in" in response.headers.get(
                    "Location", ""):
                client, token = _signed_in_client(app, people[who])  # signed out or session cleared: again
            db.session.rollback()
    assert not failures, "\n".join(failures)
