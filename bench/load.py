"""50 people using Convene at once for 5 minutes: 0 errors and p95 <= 300 ms, on SQLite and on PostgreSQL.

    .venv/bin/python bench/load.py [--seconds 300] [--sqlite-only | --postgres-only]

Seeds the large demo (`flask seed-demo --scale large`) into a throwaway database and serves it with
gunicorn, 3 sync workers, on a free loopback port: first on SQLite, then on a throwaway PostgreSQL
server (bench/postgres.py; skipped loudly when PostgreSQL is not installed).

50 simulated people, each with their own browser (cookie jar and cache), join over 10 seconds,
sign in through the sign-in form (the page, then the form posted with its CSRF token, their email
and the demo password) and then work through the site until the time is up, pausing 1 to 3 seconds
(uniformly) between actions:

- 42 participants from four cohorts (the running demo cohort and Archive cohorts 01 to 03): their
  home page, session and module pages, the library (page 1, then page 2 where there is one), the
  discussion and its threads, replying to a thread or (one time in five) starting one, sending or
  taking back apologies for a session to come, giving feedback on a recent session, their
  attendance, and their calendar (a session's .ics file and their private feed, created on the
  settings page).
- 6 staff (4 of the programme team, 2 facilitators): the cohorts dashboard, schedules, the
  attendance matrix, taking a register (a session that has happened, opened from the schedule:
  changing one person's status and saving), the people pages and, for the team, the
  applications list, one application and the CSV downloads of attendance and applications.
- 2 applicants: their applications, the apply page, and saving their draft (one of them starts
  their application first).

Forms are filled in from the page as a browser would, with the page's CSRF token. Every page also
loads its static files as a browser would: the stylesheets, scripts (and the modules they import),
images and icon it links to, kept in that browser's cache and revalidated (If-None-Match or
If-Modified-Since, answered 304) unless the cache may keep them without asking (max-age); files on
other sites (the NHS.UK fonts) are not fetched. Every request is timed, including the GET before
each POST and the page a POST redirects to; the p95 target is on the pages, and the static files
get lines of their own (their many quick 304s would otherwise pull the p95 down). An error is any
status other than the expected 200 or redirect, a redirect somewhere else (such as the sign-in
page), a form that comes back with "There is a problem", a success message that is missing, a
static file that does not answer 200 or 304, or a connection failure; the first few are printed
with method, path and status.

The timings are only as good as the machine is quiet, so the table also gives the CPU the
gunicorn workers and this driver used (per request, and in cores) and the load average when each
run ends: load well above the cores they use means something else was running and slowed every page.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import http.cookiejar
import math
import os
import random
import re
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from common import Figure, print_table
from server import LargeSite

from demo.seed import DEMO_PASSWORD  # (importing common put the project root on sys.path)

USERS = {"participant": 42, "team": 4, "facilitator": 2, "applicant": 2}
WORKERS = 3
RAMP_SECONDS = 10.0
THINK_SECONDS = (1.0, 3.0)
P95_TARGET_MS = 300.0
SHOWN_ERRORS = 10
# Participants per cohort, by cohort name ("" is the running demo cohort, which has sessions to come).
PARTICIPANT_COHORTS = {"": 14, "Archive cohort 01": 14, "Archive cohort 02": 7, "Archive cohort 03": 7}
STAFF_COHORTS = ("", "Archive cohort 01", "Archive cohort 02")
PROBLEM = "There is a problem"


# -- what the large seed holds, and the accounts that use it ---------------------------------

@dataclass
class Person:
    role: str  # participant, team, facilitator or applicant
    email: str
    cohort_id: int | None = None
    password: str = DEMO_PASSWORD


@dataclass
class Facts:
    """Ids a person would know from the pages they have been shown."""

    staff_cohorts: list[int]
    past_sessions: set[int]  # sessions that have happened: their registers are open
    applications_cohort: int  # the cohort with the 500 applications


def people_and_facts(site: LargeSite) -> tuple[list[Person], Facts]:
    """The 50 accounts (staff and the second applicant created here, with the demo's password)."""
    from sqlalchemy import select

    from app import clock
    from app.auth.models import StaffRole, User
    from app.db import db
    from app.programme.models import Cohort, CohortStatus, Enrolment, EnrolmentStatus, ProgrammeSession, SessionStatus

    app = site.app()
    with app.app_context():
        def cohort_id(name: str) -> int:
            if name:
                return db.session.scalar(select(Cohort.id).where(Cohort.name == name))
            return db.session.scalar(select(Cohort.id).where(Cohort.status == CohortStatus.RUNNING.value,
                                                             Cohort.name.not_like("Archive cohort%")))

        demo_hash = db.session.scalar(select(User.password_hash).where(User.email == "team@example.org"))

        def user(email: str, name: str = "", role: StaffRole = StaffRole.NONE) -> User:
            """The seed's account with this email, or a new one (the seed has one of each kind of staff)."""
            found = db.session.scalar(select(User).where(User.email == email))
            if found is None:
                found = User(email=email, name=name, staff_role=role.value, password_hash=demo_hash,
                             email_confirmed_at=clock.now())
                db.session.add(found)
                db.session.flush()
            return found

        accounts: list[tuple[str, User, int | None]] = []
        for name, count in PARTICIPANT_COHORTS.items():
            cohort = cohort_id(name)
            members = db.session.scalars(
                select(User).join(Enrolment, Enrolment.user_id == User.id)
                .where(Enrolment.cohort_id == cohort, Enrolment.status == EnrolmentStatus.ACTIVE.value)
                .order_by(User.id).limit(count)).all()
            assert len(members) == count, (name, len(members))
            accounts += [("participant", member, cohort) for member in members]
        team = [user("team@example.org"), *(user(f"load-team-{n}@example.org", f"Load Team {n}", StaffRole.TEAM)
                                                for n in range(1, USERS["team"]))]
        facilitators = [user("facilitator@example.org"),
                        *(user(f"load-facilitator-{n}@example.org", f"Load Facilitator {n}", StaffRole.FACILITATOR)
                          for n in range(1, USERS["facilitator"]))]
        applicants = [user("applicant@example.org"), user("load-applicant@example.org", "Lee Applicant")]
        accounts += [("team", u, None) for u in team] + [("facilitator", u, None) for u in facilitators]
        accounts += [("applicant", u, None) for u in applicants]
        staff_cohorts = [cohort_id(name) for name in STAFF_COHORTS]
        past = set(db.session.scalars(select(ProgrammeSession.id).where(
            ProgrammeSession.cohort_id.in_(staff_cohorts), ProgrammeSession.ends_at <= clock.now(),
            ProgrammeSession.status == SessionStatus.SCHEDULED.value)))
        db.session.commit()
        people = [Person(role, u.email, cohort) for role, u, cohort in accounts]
        facts = Facts(staff_cohorts=staff_cohorts, past_sessions=past,
                      applications_cohort=cohort_id("Archive cohort 01"))
        db.session.remove()
        db.engine.dispose()
    counts = {role: sum(p.role == role for p in people) for role in USERS}
    assert counts == USERS, counts
    return people, facts


# -- recording -------------------------------------------------------------------------------

@dataclass
class Recorder:
    """Every request's time by task, and every error. list.append is atomic, so threads share it."""

    samples: list[tuple[str, float]] = field(default_factory=list)  # pages (and downloads, and POSTs)
    assets: list[tuple[int, float]] = field(default_factory=list)  # static files: (status, seconds)
    errors: list[str] = field(default_factory=list)

    def error(self, task: str, method: str, path: str, status: int | None, detail: str) -> None:
        self.errors.append(f"[{task}] {method} {path} -> {status if status is not None else 'no response'}: {detail}")


class Failed(Exception):
    """A response a person would not have expected; already recorded, it ends the task."""


# -- a browser -------------------------------------------------------------------------------

class _EveryResponse(urllib.request.HTTPErrorProcessor):
    """Hand back every response as it is: redirects are followed (and timed) one by one below."""

    def http_response(self, request, response):
        return response

    https_response = http_response


@dataclass
class Response:
    status: int
    location: str  # path and query of a redirect's target, "" otherwise
    text: str


def _path(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _problem(text: str) -> str:
    """The words of an error summary or error banner, tags removed."""
    at = text.find(PROBLEM)
    snippet = re.sub(r"<[^>]+>", " ", text[at:at + 1500])
    return html.unescape(" ".join(snippet.split()))[:200]


@dataclass
class Cached:
    """A static file in a browser's cache: its validators, and until when it may be used unasked."""

    etag: str
    last_modified: str
    fresh_until: float  # time.monotonic(); 0 when it must be revalidated each time (no-cache)
    imports: list[str]  # what a script module imports, fetched with it


class _AssetParser(HTMLParser):
    """The same-site files a browser fetches to show a page: stylesheets, scripts, images, the icon."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.icon = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        rel = a.get("rel", "").lower().split()
        if tag == "link" and "stylesheet" in rel:
            self.found.append(a.get("href", ""))
        elif tag == "link" and "icon" in rel and not self.icon:  # a browser takes one icon
            self.icon = True
            self.found.append(a.get("href", ""))
        elif tag in ("script", "img") and a.get("src"):
            self.found.append(a["src"])


def static_files(page: str) -> list[str]:
    parser = _AssetParser()
    parser.feed(page)
    return list(dict.fromkeys(src for src in parser.found if src.startswith("/") and not src.startswith("//")))


_IMPORT = re.compile(r"""(?:^|[;\s])(?:import|export)\b[^"';]*?(?:from\s*)?["'](\.{1,2}/[^"']+)["']""", re.M)
_MAX_AGE = re.compile(r"max-age=(\d+)")


class Browser:
    """One person's browser: its own cookie jar and cache, no proxy. It starts signed out."""

    def __init__(self, base: str, recorder: Recorder) -> None:
        self.base = base
        self.recorder = recorder
        self.task = ""
        self.cache: dict[str, Cached] = {}
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                  urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _EveryResponse)

    def fail(self, method: str, path: str, status: int | None, detail: str) -> Failed:
        self.recorder.error(self.task, method, path, status, detail)
        return Failed(detail)

    def request(self, method: str, path: str, form: list[tuple[str, str]] | None = None) -> Response:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=60) as response:
                text = response.read().decode("utf-8", "replace")
                status, location = response.status, response.headers.get("Location") or ""
                is_page = response.headers.get_content_type() == "text/html"
        except OSError as error:  # refused, reset, timed out
            self.recorder.samples.append((self.task, time.perf_counter() - started))
            raise self.fail(method, path, None, f"{type(error).__name__}: {error}") from None
        self.recorder.samples.append((self.task, time.perf_counter() - started))
        if status == 200 and is_page:
            for src in static_files(text):
                self.load_static(src)
        return Response(status, _path(location) if location else "", text)

    def load_static(self, path: str, seen: set[str] | None = None) -> None:
        """A static file the page needs: from the cache while fresh, else fetched or revalidated.

        A file that does not come is an error for the count, not the end of the task (the page shows).
        """
        seen = set() if seen is None else seen
        if path in seen:
            return
        seen.add(path)
        cached = self.cache.get(path)
        if cached is None or cached.fresh_until <= time.monotonic():
            request = urllib.request.Request(self.base + path)
            if cached is not None and cached.etag:
                request.add_header("If-None-Match", cached.etag)
            if cached is not None and cached.last_modified:
                request.add_header("If-Modified-Since", cached.last_modified)
            started = time.perf_counter()
            try:
                with self.opener.open(request, timeout=60) as response:
                    body = response.read()
                    status, headers = response.status, response.headers
            except OSError as error:
                self.recorder.assets.append((0, time.perf_counter() - started))
                self.recorder.error(self.task, "GET", path, None, f"static file: {type(error).__name__}: {error}")
                return
            self.recorder.assets.append((status, time.perf_counter() - started))
            if status == 200:
                imports = []
                if headers.get_content_type() in ("text/javascript", "application/javascript"):
                    imports = [_path(urllib.parse.urljoin(self.base + path, spec))
                               for spec in _IMPORT.findall(body.decode("utf-8", "replace"))]
                control = (headers.get("Cache-Control") or "").lower()
                age = _MAX_AGE.search(control)
                fresh = 0.0 if "no-cache" in control or not age else time.monotonic() + int(age.group(1))
                cached = Cached(headers.get("ETag") or "", headers.get("Last-Modified") or "", fresh, imports)
                if "no-store" not in control:
                    self.cache[path] = cached
            elif status != 304 or cached is None:
                self.recorder.error(self.task, "GET", path, status, "static file: expected 200 or 304")
                return
        for module in cached.imports:
            self.load_static(module, seen)

    def get(self, path: str, expect: str | None = None) -> str:
        """A page that must answer 200; with `expect`, after redirects to a path matching it."""
        response = self.request("GET", path)
        where = path
        for _ in range(3):
            if expect is None or response.status not in (301, 302, 303):
                break
            where = response.location
            response = self.request("GET", where)
        if response.status != 200:
            raise self.fail("GET", where, response.status, f"expected 200{f' at {expect}' if expect else ''}"
                            f"{f', redirected to {response.location}' if response.location else ''}")
        if expect is not None and not re.fullmatch(expect, where.split("#")[0]):
            raise self.fail("GET", path, response.status, f"ended at {where}, expected {expect}")
        return response.text

    def submit(self, path: str, form: list[tuple[str, str]], *, redirect: str | None, success: str) -> str:
        """POST a form; it must redirect to `redirect` (or answer 200 when None) with `success` on the page."""
        response = self.request("POST", path, form)
        if PROBLEM in response.text:
            raise self.fail("POST", path, response.status, f"form refused: {_problem(response.text)}")
        if redirect is None:
            if response.status != 200:
                raise self.fail("POST", path, response.status, "expected 200")
            text = response.text
        else:
            if response.status not in (302, 303):
                raise self.fail("POST", path, response.status, f"expected a redirect to {redirect}")
            target = response.location.split("#")[0]
            if not re.fullmatch(redirect, target):
                raise self.fail("POST", path, response.status, f"redirected to {target}, expected {redirect}")
            page = self.request("GET", target)
            if page.status != 200:
                raise self.fail("GET", target, page.status, f"expected 200 after POST {path}")
            text = page.text
            if PROBLEM in text:
                raise self.fail("POST", path, page.status, f"error shown after saving: {_problem(text)}")
        if success not in text:
            raise self.fail("POST", path, 200, f"no {success!r} on the page")
        return text


# -- forms and links -------------------------------------------------------------------------

@dataclass
class Control:
    kind: str  # an input's type, "select", "select-multiple", "textarea" or a button's type
    name: str
    value: str
    checked: bool = False
    options: list[tuple[str, bool]] = field(default_factory=list)  # a select's (value, selected)


@dataclass
class Form:
    method: str
    action: str
    controls: list[Control] = field(default_factory=list)

    def names(self) -> set[str]:
        return {c.name for c in self.controls}

    def buttons(self, name: str) -> list[str]:
        return [c.value for c in self.controls if c.name == name and c.kind in ("submit", "button")]

    def choices(self, name: str) -> list[str]:
        return [c.value for c in self.controls if c.name == name and c.kind in ("radio", "checkbox")]

    def fields(self, button: tuple[str, str] | None = None, **changes: str) -> list[tuple[str, str]]:
        """What a browser sends: filled-in fields, checked boxes, one clicked button; then `changes`."""
        pairs: list[tuple[str, str]] = []
        for control in self.controls:
            if control.kind in ("submit", "button", "image", "reset", "file"):
                if button == (control.name, control.value):
                    pairs.append(button)
            elif control.kind in ("radio", "checkbox"):
                if control.checked:
                    pairs.append((control.name, control.value))
            elif control.kind in ("select", "select-multiple"):
                chosen = [v for v, selected in control.options if selected]
                if not chosen and control.kind == "select":  # a single select shows, and sends, its first option
                    chosen = [v for v, _ in control.options[:1]]
                pairs += [(control.name, v) for v in chosen]
            else:
                pairs.append((control.name, control.value))
        if changes:
            pairs = [(n, v) for n, v in pairs if n not in changes] + list(changes.items())
        return pairs


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.inside = False
        self.textarea: Control | None = None
        self.select: Control | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("method", "get").lower(), a.get("action", "")))
            self.inside = True
            return
        if not self.inside or "disabled" in a:
            return
        if tag == "input" and a.get("name"):
            self.forms[-1].controls.append(Control(a.get("type", "text").lower(), a["name"], a.get("value", ""),
                                                   "checked" in a))
        elif tag == "button" and a.get("name"):
            self.forms[-1].controls.append(Control(a.get("type", "submit").lower(), a["name"], a.get("value", "")))
        elif tag == "textarea" and a.get("name"):
            self.textarea = Control("textarea", a["name"], "")
            self.forms[-1].controls.append(self.textarea)
        elif tag == "select" and a.get("name"):
            self.select = Control("select-multiple" if "multiple" in a else "select", a["name"], "")
            self.forms[-1].controls.append(self.select)
        elif tag == "option" and self.select is not None:
            self.select.options.append((a.get("value", ""), "selected" in a))

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.textarea.value += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            if self.textarea is not None and self.textarea.value.startswith("\n"):
                self.textarea.value = self.textarea.value[1:]  # as browsers drop it
            self.textarea = None
        elif tag == "select":
            self.select = None


def forms_on(page: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(page)
    return [form for form in parser.forms if form.method == "post"]


def form_with(page: str, name: str) -> Form | None:
    """The page's POST form that has a field called `name`."""
    return next((form for form in forms_on(page) if name in form.names()), None)


def links(page: str, pattern: str) -> list[str]:
    """The page's links whose path and query match `pattern`, in page order, without repeats."""
    found = [html.unescape(href) for href in re.findall(r'href="([^"#]+)', page)]
    return list(dict.fromkeys(href for href in found if re.fullmatch(pattern, href)))


# -- the people -------------------------------------------------------------------------------

@dataclass
class Visitor:
    """One simulated person: what they have seen so far, and their browser."""

    person: Person
    facts: Facts
    browser: Browser
    rng: random.Random
    sessions: list[str] = field(default_factory=list)
    upcoming: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)
    feedback_due: list[str] = field(default_factory=list)
    feed: str | None = None
    writes: int = 0
    signed_in: bool = False

    def get(self, path: str, expect: str | None = None) -> str:
        return self.browser.get(path, expect)

    def note(self) -> str:
        """Text no one else writes, to find on the page after saving."""
        self.writes += 1
        return f"Note {self.person.email.split('@')[0]}-{self.writes}"


def sign_in(v: Visitor) -> None:
    """The sign-in page, then its form with the CSRF token, email and password; on to the landing page."""
    page = v.get("/sign-in")
    form = form_with(page, "password")
    if form is None:
        raise v.browser.fail("GET", "/sign-in", 200, "no sign-in form")
    response = v.browser.request("POST", "/sign-in", form.fields(email=v.person.email, password=v.person.password))
    if response.status not in (302, 303) or response.location.startswith("/sign-in"):
        detail = _problem(response.text) if PROBLEM in response.text else f"redirected to {response.location or 'none'}"
        raise v.browser.fail("POST", "/sign-in", response.status, f"not signed in: {detail}")
    v.get(response.location, expect=r"/home|/team/.*|/my-applications")
    v.signed_in = True


# participants

def participant_home(v: Visitor) -> None:
    page = v.get("/home")
    coming, _, year = page.partition("<h2>Your year</h2>")
    v.sessions = links(year, r"/sessions/\d+")
    v.upcoming = links(coming.partition("<h2>Coming up</h2>")[2], r"/sessions/\d+")
    v.modules = links(page, r"/cohorts/\d+/modules/\d+")
    v.feedback_due = links(page, r"/sessions/\d+/feedback")


def session_page(v: Visitor) -> None:
    v.get(v.rng.choice(v.sessions))


def module_page(v: Visitor) -> None:
    page = v.get(v.rng.choice(v.modules))
    for session in links(page, r"/sessions/\d+")[:1]:
        if v.rng.random() < 0.5:
            v.get(session)


def library(v: Visitor) -> None:
    page = v.get(f"/cohorts/{v.person.cohort_id}/library")
    for next_page in links(page, r"/cohorts/\d+/library\?page=2"):
        v.get(next_page)


def discussion(v: Visitor) -> None:
    page = v.get(f"/cohorts/{v.person.cohort_id}/discussion")
    threads = links(page, r"/threads/\d+")
    if threads:
        v.get(v.rng.choice(threads))


def reply(v: Visitor) -> None:
    """Open the discussion, then a thread, and post a reply; or (one time in five) start a thread."""
    page = v.get(f"/cohorts/{v.person.cohort_id}/discussion")
    threads = links(page, r"/threads/\d+")
    if not threads or v.rng.random() < 0.2:
        start_thread(v)
        return
    thread = v.rng.choice(threads)
    form = form_with(v.get(thread), "body")
    if form is None:
        raise v.browser.fail("GET", thread, 200, "no reply form")
    text = v.note()
    v.browser.submit(thread, form.fields(body=f"{text}: thank you, this helps with our next meeting."),
                     redirect=re.escape(thread), success=f"{text}:")


def start_thread(v: Visitor) -> None:
    path = f"/cohorts/{v.person.cohort_id}/discussion/new"
    form = form_with(v.get(path), "title")
    if form is None:
        raise v.browser.fail("GET", path, 200, "no new discussion form")
    text = v.note()
    v.browser.submit(path, form.fields(title=f"{text}: what worked for your community this month?",
                                       body="Share one thing that helped your community meet."),
                     redirect=r"/threads/\d+", success=f"{text}:")


def apologies(v: Visitor) -> None:
    """From a session to come: send apologies, or take them back if already sent."""
    if not v.upcoming:
        return feedback(v)
    session = v.rng.choice(v.upcoming)
    page = v.get(session)
    path = f"{session}/apologies"
    if path not in links(page, r"/sessions/\d+/apologies"):
        return None  # it has started: no apologies link
    page = v.get(path)
    form = form_with(page, "reason")
    if form is None:
        raise v.browser.fail("GET", path, 200, "no apologies form")
    if "withdraw" in form.buttons("action"):
        v.browser.submit(path, form.fields(("action", "withdraw")), redirect=re.escape(session),
                         success="Your apologies are withdrawn")
    else:
        v.browser.submit(path, form.fields(("action", "send"), reason="A clinic I cannot move."),
                         redirect=re.escape(session), success="your apologies are recorded")
    return None


def feedback(v: Visitor) -> None:
    """Feedback on a recent session the home page asks about; otherwise a session page."""
    if not v.feedback_due:
        return session_page(v)
    path = v.feedback_due.pop(0)
    page = v.get(path)
    form = form_with(page, "what_worked") or form_with(page, "worthwhile")
    if form is None:
        return None  # already given, or closed since the home page was shown
    scores = form.choices("recommend")
    v.browser.submit(path, form.fields(worthwhile=v.rng.choice(form.choices("worthwhile")),
                                       recommend=v.rng.choice(scores), what_worked="Time with the group."),
                     redirect=re.escape(path.removesuffix("/feedback")), success="Thank you for your feedback.")
    return None


def my_attendance(v: Visitor) -> None:
    v.get("/my-attendance")


def calendar(v: Visitor) -> None:
    """A session's .ics file; the private feed, created once on the settings page, then polled."""
    if v.feed is None:
        page = v.get("/settings")
        form = next((f for f in forms_on(page) if f.action == "/settings/calendar"), None)
        if form is None:
            raise v.browser.fail("GET", "/settings", 200, "no calendar form")
        action = "create" if "create" in form.buttons("action") else "reset"  # "reset": a link from an earlier run
        page = v.browser.submit("/settings/calendar", form.fields(("action", action)), redirect=None,
                                success="calendar link.")
        found = re.search(r'id="feed-url"[^>]*value="([^"]+)"', page)
        if found is None:
            raise v.browser.fail("POST", "/settings/calendar", 200, "no calendar link on the page")
        v.feed = _path(html.unescape(found.group(1)))
        return
    v.get(f"{v.rng.choice(v.sessions)}.ics")
    v.get(v.feed)


# staff

def dashboard(v: Visitor) -> None:
    v.get("/home", expect="/team/")


def schedule(v: Visitor) -> None:
    v.get(f"/cohorts/{v.rng.choice(v.facts.staff_cohorts)}/schedule")


def matrix(v: Visitor) -> None:
    v.get(f"/cohorts/{v.rng.choice(v.facts.staff_cohorts)}/attendance")


def export_attendance(v: Visitor) -> None:
    """The attendance matrix, then its CSV download (the export is recorded in the audit log)."""
    page = v.get(f"/cohorts/{v.rng.choice(v.facts.staff_cohorts)}/attendance")
    v.get(links(page, r"/cohorts/\d+/attendance\.csv")[0])


def take_register(v: Visitor) -> None:
    """From a schedule, a session that has happened, its register: correct one person and save."""
    page = v.get(f"/cohorts/{v.rng.choice(v.facts.staff_cohorts)}/schedule")
    session = v.rng.choice([link for link in links(page, r"/sessions/\d+")
                            if int(link.split("/")[2]) in v.facts.past_sessions])
    path = f"{session}/register"
    if path not in links(v.get(session), r"/sessions/\d+/register"):
        raise v.browser.fail("GET", session, 200, "no link to the register")
    form = next((f for f in forms_on(v.get(path)) if any(n.startswith("status-") for n in f.names())), None)
    if form is None:
        raise v.browser.fail("GET", path, 200, "no register form")
    people = sorted(n for n in form.names() if n.startswith("status-"))
    status = v.rng.choice(["present", "late", "left_early", "apologies", "absent"])
    v.browser.submit(path, form.fields(("action", "save"), **{v.rng.choice(people): status}),
                     redirect=re.escape(path), success="Register saved")


def applications(v: Visitor) -> None:
    page = v.get(f"/team/cohorts/{v.facts.applications_cohort}/applications")
    if v.rng.random() < 0.3:
        for next_page in links(page, r"/team/cohorts/\d+/applications\?page=2"):
            v.get(next_page)


def application(v: Visitor) -> None:
    page = v.get(f"/team/cohorts/{v.facts.applications_cohort}/applications")
    v.get(v.rng.choice(links(page, r"/team/applications/\d+")))


def export_applications(v: Visitor) -> None:
    """The applications list, then its CSV download (recorded in the audit log)."""
    page = v.get(f"/team/cohorts/{v.facts.applications_cohort}/applications")
    v.get(links(page, r"/team/cohorts/\d+/applications\.csv")[0])


def team_people(v: Visitor) -> None:
    v.get("/team/people")


def cohort_people(v: Visitor) -> None:
    cohort = v.person.cohort_id or v.rng.choice(v.facts.staff_cohorts)
    v.get(f"/cohorts/{cohort}/people")


# applicants

def my_applications(v: Visitor) -> None:
    v.get("/home", expect="/my-applications")


def apply_page(v: Visitor) -> None:
    v.get("/apply")


def application_status(v: Visitor) -> None:
    page = v.get("/my-applications")
    for path in links(page, r"/applications/\d+(/edit)?")[:1]:
        v.get(path.removesuffix("/edit"))


def draft(v: Visitor) -> None:
    """Continue the draft and save it; someone with no application starts one from the apply page."""
    page = v.get("/my-applications")
    edits = links(page, r"/applications/\d+/edit")
    if edits:
        path = edits[0]
        page = v.get(path)
    else:
        form = next((f for f in forms_on(v.get("/apply")) if f.action == "/apply"), None)
        if form is None:
            raise v.browser.fail("GET", "/apply", 200, "no form to start an application")
        response = v.browser.request("POST", "/apply", form.fields())
        if response.status != 302 or not re.fullmatch(r"/applications/\d+/edit", response.location):
            raise v.browser.fail("POST", "/apply", response.status, f"expected a redirect to the draft, "
                                 f"got {response.location or 'none'}")
        path = response.location
        page = v.get(path)
    form = form_with(page, "hopes")
    if form is None:
        raise v.browser.fail("GET", path, 200, "no application form")
    v.browser.submit(path, form.fields(("action", "save"), hopes=f"{v.note()}: to grow our community."),
                     redirect=re.escape(path), success="Your answers are saved")


Task = Callable[[Visitor], None]
TASKS: dict[str, list[tuple[str, Task, int]]] = {
    "participant": [("home", participant_home, 4), ("session page", session_page, 3), ("module page", module_page, 2),
                    ("library", library, 2), ("discussion", discussion, 2), ("reply", reply, 1),
                    ("apologies", apologies, 1), ("feedback", feedback, 1), ("my attendance", my_attendance, 1),
                    ("calendar", calendar, 1), ("people", cohort_people, 1)],
    "team": [("dashboard", dashboard, 1), ("schedule", schedule, 1), ("attendance matrix", matrix, 3),
             ("take register", take_register, 2), ("applications list", applications, 2),
             ("application", application, 2), ("people", team_people, 1),
             ("export attendance", export_attendance, 1), ("export applications", export_applications, 1)],
    "facilitator": [("dashboard", dashboard, 1), ("schedule", schedule, 2), ("attendance matrix", matrix, 3),
                    ("take register", take_register, 2), ("people", cohort_people, 1)],
    "applicant": [("home", my_applications, 2), ("apply page", apply_page, 1),
                  ("application status", application_status, 1), ("save draft", draft, 2)],
}
FIRST = {"participant": "home", "team": "dashboard", "facilitator": "dashboard", "applicant": "home"}


# -- the run ---------------------------------------------------------------------------------

@dataclass
class Result:
    seconds: float
    users: int
    samples: list[tuple[str, float]]
    assets: list[tuple[int, float]]
    errors: list[str]
    load: tuple[float, float, float]  # the machine's load average when the run ended (1, 5, 15 min)
    server_cpu: float = 0.0  # CPU seconds the gunicorn workers used during the run
    driver_cpu: float = 0.0  # CPU seconds this driver (all 50 people) used during the run


def percentile(values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q% of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] if ordered else 0.0


def _person_loop(visitor: Visitor, recorder: Recorder, start_at: float, stop_at: float) -> None:
    tasks = {name: task for name, task, _ in TASKS[visitor.person.role]} | {"sign in": sign_in}
    names = [name for name, _, _ in TASKS[visitor.person.role]]
    weights = [weight for _, _, weight in TASKS[visitor.person.role]]
    time.sleep(max(0.0, start_at - time.monotonic()))
    name = "sign in"
    while time.monotonic() < stop_at:
        visitor.browser.task = name
        try:
            tasks[name](visitor)
        except Failed:
            pass
        except Exception as error:  # noqa: BLE001  (a page the driver could not read is an error too)
            recorder.error(name, "-", "-", None, f"{type(error).__name__}: {error}")
        pause = visitor.rng.uniform(*THINK_SECONDS)
        if time.monotonic() + pause >= stop_at:
            break
        time.sleep(pause)
        if not visitor.signed_in:
            name = "sign in"  # tried again after a pause, as a person would
        elif name == "sign in":
            name = FIRST[visitor.person.role]
        else:
            name = visitor.rng.choices(names, weights)[0]


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of these processes so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def run_load(site: LargeSite, people: list[Person], facts: Facts, seconds: float) -> Result:
    recorder = Recorder()
    workers = site.worker_pids()
    server_cpu, driver_cpu = cpu_seconds(workers), time.process_time()
    started = time.monotonic()
    ramp = min(RAMP_SECONDS, seconds / 3)
    shuffled = random.Random(1).sample(people, len(people))  # roles join mixed, not one role after another
    threads = []
    for n, person in enumerate(shuffled):
        visitor = Visitor(person, facts, Browser(site.url(""), recorder), random.Random(n))
        thread = threading.Thread(target=_person_loop, name=person.email, daemon=True,
                                  args=(visitor, recorder, started + ramp * n / len(people), started + seconds))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    return Result(time.monotonic() - started, len(people), recorder.samples, recorder.assets, recorder.errors,
                  os.getloadavg(),
                  cpu_seconds(workers) - server_cpu, time.process_time() - driver_cpu)


def report(label: str, result: Result) -> list[Figure]:
    """Print the per-task times and the errors; the figures for the table."""
    by_task: dict[str, list[float]] = {}
    for task, seconds in result.samples:
        by_task.setdefault(task, []).append(seconds * 1000)
    errors_by_task: dict[str, int] = {}
    for error in result.errors:
        task = error[1:error.index("]")]
        errors_by_task[task] = errors_by_task.get(task, 0) + 1
    print(f"\n{label}: {len(result.samples):,} page requests and {len(result.assets):,} static file requests in "
          f"{result.seconds:.0f} s, {len(result.errors)} errors")
    print(f"{'task':<20}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for task in sorted(by_task, key=lambda t: -len(by_task[t])):
        times = by_task[task]
        print(f"{task:<20}{len(times):>9}{errors_by_task.get(task, 0):>8}{percentile(times, 50):>9.0f}"
              f"{percentile(times, 95):>9.0f}{percentile(times, 99):>9.0f}{max(times):>9.0f}")
    for error in result.errors[:SHOWN_ERRORS]:
        print("error:", error, file=sys.stderr)
    if len(result.errors) > SHOWN_ERRORS:
        print(f"... and {len(result.errors) - SHOWN_ERRORS} more errors", file=sys.stderr)
    times = [seconds * 1000 for _, seconds in result.samples]
    p95, p99 = percentile(times, 95), percentile(times, 99)
    static = [seconds * 1000 for _, seconds in result.assets]
    fetched = sum(status == 200 for status, _ in result.assets)
    revalidated = sum(status == 304 for status, _ in result.assets)
    every = len(times) + len(static)
    print(f"{'static files':<20}{len(static):>9}{'':>8}{percentile(static, 50):>9.0f}"
          f"{percentile(static, 95):>9.0f}{percentile(static, 99):>9.0f}{max(static, default=0):>9.0f}")
    return [
        Figure(f"{label}: simulated users", str(result.users), "", None),
        Figure(f"{label}: page requests in {result.seconds:.0f} s", f"{len(times):,}", "", None),
        Figure(f"{label}: static file requests (200 / 304)", f"{len(static):,} ({fetched:,} / {revalidated:,})",
               "", None),
        Figure(f"{label}: errors", str(len(result.errors)), "0", not result.errors),
        Figure(f"{label}: p95 (every page request)", f"{p95:.0f} ms", f"<= {P95_TARGET_MS:.0f} ms",
               bool(times) and p95 <= P95_TARGET_MS),
        Figure(f"{label}: p99 (pages)", f"{p99:.0f} ms", "", None),
        Figure(f"{label}: p95 (static files)", f"{percentile(static, 95):.0f} ms", "", None),
        Figure(f"{label}: requests/s (pages + static files)", f"{every / result.seconds:.1f}", "", None),
        Figure(f"{label}: gunicorn CPU per request (pages + static files)",
               f"{1000 * result.server_cpu / max(every, 1):.1f} ms", "", None),
        Figure(f"{label}: CPU used, gunicorn / this driver", f"{result.server_cpu / result.seconds:.2f} / "
               f"{result.driver_cpu / result.seconds:.2f} cores", "", None),
        # 2 cores: load much above what gunicorn and the driver use means something else was running.
        Figure(f"{label}: load average at the end (1 / 5 min)", f"{result.load[0]:.1f} / {result.load[1]:.1f}",
               "", None),
    ]


def measure(label: str, seconds: float, database_url: str | None = None) -> list[Figure]:
    with LargeSite(database_url=database_url) as site:
        people, facts = people_and_facts(site)
        site.start(workers=WORKERS)
        try:
            result = run_load(site, people, facts, seconds)
        finally:
            site.stop()
    return report(label, result)


@contextlib.contextmanager
def sqlite() -> Iterator[None]:
    """LargeSite's own SQLite file, even when DATABASE_URL is set in the environment."""
    saved = os.environ.pop("DATABASE_URL", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["DATABASE_URL"] = saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=300)
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--sqlite-only", action="store_true")
    only.add_argument("--postgres-only", action="store_true")
    args = parser.parse_args()
    figures: list[Figure] = []
    if not args.postgres_only:
        with sqlite():
            figures += measure(f"SQLite, {WORKERS} workers", args.seconds)
    if not args.sqlite_only:
        from postgres import throwaway_postgres

        with throwaway_postgres() as url:
            if url is None:
                figures.append(Figure("PostgreSQL (not installed)", "skipped", "", False))
            else:
                figures += measure(f"PostgreSQL, {WORKERS} workers", args.seconds, database_url=url)
    print()
    print_table(figures)
    return 0 if all(figure.passed is not False for figure in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
