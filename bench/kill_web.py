"""Kill test: SIGKILL the web workers 20 times while applicants submit; nothing is half-written.

The demo (`flask seed-demo`) has a cohort taking applications. 300 applicant accounts are made
in the database, each with a live session cookie (signing in is rate limited). gunicorn serves the
app with 3 sync workers; 6 browsing threads walk applicants through the pages as a person would:
/apply, start, save some answers, then submit every answer (fetching each form first for its
CSRF token). Meanwhile a killer sends SIGKILL to workers in the middle of a request, 20 times: each
time, once at least 2 workers are serving (they have the database or a request open) and 0.2 to
1.0 s more have gone by, it kills the worker serving a submit at that moment (found from
/proc/net/tcp, and killed 0 to 50 ms later, so anywhere in the submit) or, when no submit is in
flight within 2 s, a worker with any request open; then it waits for gunicorn to start the
replacement. Only a kill that found its worker holding an open request (an accepted connection,
from /proc/net/tcp, read just before the signal) counts towards the 20; one that arrived after the
reply was sent is reported apart and another is tried (at most 40 tries in all). An applicant whose request
is cut by a kill is walked again later (4 attempts at most), from wherever the database left them;
a submit counts as acknowledged only when its reply (the redirect to /applications/<reference>)
arrived. New applicants stop being started when the kills are done.

Then the database is read. Submitting is one transaction (save_draft, submit_application, then
the view's commit), so every application of these applicants must be one of:

- absent;
- a draft: no submitted_at, history "draft" only, no line-manager request, no emails queued;
- complete: status awaiting_sponsor, submitted_at set, missing_answers() empty and every answer
  the one this applicant sent, history draft -> submitted -> awaiting_sponsor, exactly one pending
  line-manager request to the address given, and in the outbox "application-submitted:<id>",
  its "sponsor-request:<approval>:..." and the chasers the cohort's rule asks for (3 and 7 days).

Every acknowledged submit must be present and complete. Prints kills, submits acknowledged,
acknowledged but missing, incomplete or half-written applications, server errors (5xx) and
tracebacks in gunicorn's log against their targets; exits 1 on any miss.

    .venv/bin/python bench/kill_web.py [--postgres] [--applicants 300] [--kills 20]

(Smaller counts make a quick check that the script runs; the targets are for the defaults.)
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import os
import random
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from common import Figure, print_table
from postgres import throwaway_postgres
from server import LargeSite, session_cookie

APPLICANTS, BROWSERS, WORKERS, KILLS, ATTEMPTS = 300, 6, 3, 20, 4
GAP = (0.2, 1.0)  # seconds before each kill, once WORKERS - 1 workers are serving
EDIT = re.compile(r"^/applications/(\d+)/edit$")
CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
EXISTING = re.compile(r'href="(/applications/\d+(?:/edit)?)"')
COHORT = re.compile(r'name="cohort_id"[^>]*?value="(\d+)"')  # the start form's hidden field
CUT = (OSError, http.client.HTTPException)  # a reset, a reply cut short: the worker died


class Unexpected(Exception):
    """A reply the walk did not expect: a server error, a form error page, a wrong redirect."""

    def __init__(self, step: str, status: int, location: str) -> None:
        super().__init__(f"{step}: {status} {location}".strip())
        self.status = status


class Browser:
    """One person's browser: their session cookie, kept up to date from Set-Cookie; no redirects followed."""

    def __init__(self, port: int, cookie: str) -> None:
        self.port = port
        self.name, self.value = cookie.split("=", 1)

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                in_flight: Run | None = None) -> tuple[int, str, str]:
        """Status, Location path and body. Raises an OSError/HTTPException when the worker dies.

        With `in_flight`, the connection's local port is listed in its `submitting` while the request runs,
        so the killer can find the worker serving it.
        """
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        port = 0
        try:
            connection.connect()
            if in_flight is not None:
                port = connection.sock.getsockname()[1]
                with in_flight.lock:
                    in_flight.submitting.add(port)
            headers = {"Cookie": f"{self.name}={self.value}", "Connection": "close"}
            body = None
            if form is not None:
                body = urlencode(form)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            page = response.read().decode()
            for header in response.headers.get_all("Set-Cookie") or []:
                jar = SimpleCookie(header)
                if self.name in jar:
                    self.value = jar[self.name].value
            return response.status, urlsplit(response.headers.get("Location", "")).path, page
        finally:
            if port:
                with in_flight.lock:
                    in_flight.submitting.discard(port)
            connection.close()


def csrf(page: str, step: str) -> str:
    found = CSRF.search(page)
    if not found:
        raise Unexpected(f"{step}: no csrf_token on the page", 200, "")
    return found.group(1)


def answers_for(number: int, organisation_id: int) -> dict[str, str]:
    """What applicant `number` types: every required answer; every fifth adds a new organisation."""
    answers = {
        "job_title": f"Improvement lead {number}", "profession": "Quality improvement",
        "phone": f"0161 496 {number:04d}", "organisation_id": str(organisation_id),
        "is_improvement_community_member": "y", "leads_network_cop": "y",
        "cop_title": f"Kill test community {number}", "cop_domain": f"Safer discharges, community {number}",
        "cop_members": "Nurses, pharmacists and care home staff", "crosses_boundaries": "yes",
        "boundaries_how": "Hospital, primary care and social care together", "cop_status": "running",
        "hopes": f"To grow community {number} and show its value", "sponsor_name": f"Manager {number}",
        "sponsor_email": f"manager.{number}@example.org", "sponsor_job_title": "Head of service",
    }
    if number % 5 == 0:
        answers |= {"organisation_id": "", "new_organisation_name": f"Kill Test Practice {number}",
                    "new_organisation_kind": "primary_care", "new_organisation_region": "North West"}
    return answers


FIRST_HALF = ("job_title", "profession", "organisation_id", "new_organisation_name", "new_organisation_kind",
              "new_organisation_region", "is_improvement_community_member", "cop_title")


@dataclass
class Run:
    """What the browsers saw, shared between the threads (under `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acknowledged: dict[int, int] = field(default_factory=dict)  # applicant number -> application id
    submitted_unacknowledged: set[int] = field(default_factory=set)  # found submitted on a retry
    cut: collections.Counter[str] = field(default_factory=collections.Counter)  # step -> requests cut
    server_errors: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    given_up: set[int] = field(default_factory=set)
    submitting: set[int] = field(default_factory=set)  # local ports of submits in flight
    kills: int = 0  # SIGKILLs sent, wherever they landed
    kills_mid_request: int = 0  # the worker held an open request when the signal went
    kills_aimed: int = 0  # mid-request, at a worker found serving a submit
    kills_done: threading.Event = field(default_factory=threading.Event)


def walk(browser: Browser, number: int, answers: dict[str, str], run: Run) -> tuple[int, bool]:
    """Take applicant `number` from /apply to submitted. (application id, acknowledged by this walk)."""
    step = "apply page"
    try:
        status, _, page = browser.request("GET", "/apply")
        if status != 200:
            raise Unexpected(step, status, "")
        existing = EXISTING.search(page)
        if existing:  # started on an earlier attempt
            edit_path = existing.group(1) if existing.group(1).endswith("/edit") else existing.group(1) + "/edit"
        else:
            step = "start"
            chosen = COHORT.search(page)
            status, location, _ = browser.request("POST", "/apply", {"csrf_token": csrf(page, step),
                                                                     **({"cohort_id": chosen.group(1)} if chosen else {})})
            if status != 302 or not EDIT.match(location):
                raise Unexpected(step, status, location)
            edit_path = location
        application_id = int(EDIT.match(edit_path).group(1))
        step = "form page"
        status, location, page = browser.request("GET", edit_path)
        if status == 302 and location == f"/applications/{application_id}":
            return application_id, False  # an earlier submit went in; its reply was lost
        if status != 200:
            raise Unexpected(step, status, location)
        token = csrf(page, step)
        step = "save"
        first = {name: value for name, value in answers.items() if name in FIRST_HALF}
        status, location, _ = browser.request("POST", edit_path, {**first, "csrf_token": token, "action": "save"})
        if status != 302 or location != edit_path:
            raise Unexpected(step, status, location)
        step = "submit"
        status, location, _ = browser.request("POST", edit_path, {**answers, "csrf_token": token, "action": "submit"},
                                              in_flight=run)
        if status != 302 or location != f"/applications/{application_id}":
            raise Unexpected(step, status, location)
        return application_id, True
    except CUT as error:
        error.add_note(step)
        raise


def browse(run: Run, browsers: dict[int, Browser], work: collections.deque[tuple[int, int]],
           fresh: collections.deque[int], busy: list[int], organisation_ids: list[int]) -> None:
    """One browsing thread: retries first, then new applicants until the kills are done."""
    while True:
        with run.lock:
            if work:
                number, attempt = work.popleft()
            elif fresh and not run.kills_done.is_set():
                number, attempt = fresh.popleft(), 1
            elif busy[0] == 0:
                return
            else:
                number = 0
            if number:
                busy[0] += 1
        if not number:
            time.sleep(0.05)
            continue
        retry = False
        try:
            application_id, acknowledged = walk(browsers[number], number,
                                                answers_for(number, organisation_ids[number % len(organisation_ids)]), run)
        except CUT as error:
            with run.lock:
                run.cut[error.__notes__[-1] if getattr(error, "__notes__", None) else "?"] += 1
            retry = True
        except Unexpected as error:
            with run.lock:
                (run.server_errors if error.status >= 500 else run.unexpected).append(f"applicant {number}, {error}")
            retry = True
        else:
            with run.lock:
                if acknowledged:
                    run.acknowledged[number] = application_id
                else:
                    run.submitted_unacknowledged.add(number)
        with run.lock:
            busy[0] -= 1
            if retry:
                if attempt < ATTEMPTS:
                    work.append((number, attempt + 1))
                else:
                    run.given_up.add(number)


def sockets_of(pid: int) -> list[str]:
    """The inodes of a process's sockets, from /proc/<pid>/fd."""
    try:
        links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:
        return []
    return [link[8:-1] for link in links if link.startswith("socket:[")]


def serving_workers(site: LargeSite) -> list[int]:
    """Workers past their start-up: each has the database open (the SQLite file, or a pooled socket
    besides the listening one) or a request in hand."""
    serving = []
    for pid in site.worker_pids():
        try:
            sqlite = any(os.readlink(fd).endswith(".sqlite3") for fd in Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        if sqlite or len(sockets_of(pid)) >= 2:
            serving.append(pid)
    return serving


def workers_with_open_requests(site: LargeSite) -> set[int]:
    """Workers holding an accepted connection to the site (a request being read or answered): the server
    end in /proc/net/tcp, established or closing on the browser's side, with a socket inode that is theirs."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == f"0100007F:{site.port:04X}" and fields[3] in ("01", "08") and fields[9] != "0":
            inodes.add(fields[9])
    return {pid for pid in site.worker_pids() if inodes & set(sockets_of(pid))} if inodes else set()


def worker_serving_a_submit(site: LargeSite, run: Run) -> int | None:
    """The worker holding the server end of a submit in flight (from /proc/net/tcp), if any."""
    with run.lock:
        ports = set(run.submitting)
    if not ports:
        return None
    table = Path("/proc/net/tcp").read_text()
    inodes = set()
    for port in ports:  # the server's end: local 127.0.0.1:<site port>, remote 127.0.0.1:<browser port>
        at = table.find(f"0100007F:{site.port:04X} 0100007F:{port:04X} ")
        if at >= 0:
            inode = table[at:table.find("\n", at)].split()[8]
            if inode != "0":
                inodes.add(inode)
    for pid in site.worker_pids() if inodes else []:
        if inodes & set(sockets_of(pid)):
            return pid
    return None


def kill_workers(site: LargeSite, run: Run, rng: random.Random) -> None:
    """SIGKILL a worker in the middle of a request KILLS times, 0.2 to 1.0 s after gunicorn's
    replacement for the last one is serving (at most 2 x KILLS tries).

    The victim is the worker serving a submit, when one is in flight within 2 s (killed 0 to 50 ms
    later, so anywhere in the submit), or else a worker with a request open (within 2 s more).
    Whether it still held its request is read just before the signal.
    """
    try:
        for _ in range(2 * KILLS):
            if run.kills_mid_request >= KILLS:
                break
            ready = time.monotonic() + 10
            while len(serving_workers(site)) < WORKERS - 1 and time.monotonic() < ready:
                time.sleep(0.02)
            time.sleep(rng.uniform(*GAP))
            victim, look = None, time.monotonic() + 2
            while victim is None and time.monotonic() < look:
                victim = worker_serving_a_submit(site, run)
                time.sleep(0.01)
            aimed = victim is not None
            if aimed:
                time.sleep(rng.uniform(0, 0.05))
            else:
                while victim is None and time.monotonic() < look + 2:
                    busy = sorted(workers_with_open_requests(site))
                    if busy:
                        victim = rng.choice(busy)
                    else:
                        time.sleep(0.01)
                if victim is None:
                    continue  # no request open anywhere for 4 s: nothing to cut
            mid_request = victim in workers_with_open_requests(site)
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
                run.kills += 1
                run.kills_mid_request += mid_request
                run.kills_aimed += aimed and mid_request
            deadline = time.monotonic() + 30
            while victim in site.worker_pids() or len(site.worker_pids()) != WORKERS:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not replace worker {victim}")
                time.sleep(0.02)
    finally:
        run.kills_done.set()


def prepare(site: LargeSite, app) -> tuple[int, dict[int, int], dict[int, str], list[int]]:
    """The demo, plus APPLICANTS accounts with live sessions: (cohort id, user id -> number, cookies, organisations)."""
    from sqlalchemy import select

    from app import clock
    from app.applications import services
    from app.auth.models import Organisation, User
    from app.db import db

    site.flask("db", "upgrade")
    site.flask("seed-demo")
    with app.app_context():
        taking = services.applying_cohorts(clock.now()).open
        assert len(taking) == 1, f"{len(taking)} cohorts taking applications: the walk expects the demo's one"
        cohort = taking[0]
        organisation_ids = list(db.session.scalars(select(Organisation.id).order_by(Organisation.id)))
        users = [User(email=f"kill-web-{n:03d}@example.org", name=f"Applicant {n:03d}", job_title="Nurse",
                      profession="Nursing") for n in range(1, APPLICANTS + 1)]
        db.session.add_all(users)
        db.session.commit()
        numbers = {user.id: n for n, user in enumerate(users, start=1)}
        cookies = {numbers[user.id]: session_cookie(app, user) for user in users}
        return cohort.id, numbers, cookies, organisation_ids


def audit(app, cohort_id: int, numbers: dict[int, int], run: Run,
          organisation_ids: list[int]) -> tuple[list[str], list[str], collections.Counter[str]]:
    """(acknowledged but missing, problems with applications, how many of each state)."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from app.applications import services
    from app.applications.models import Application, ApplicationStatus, SponsorDecision
    from app.db import db
    from app.notifications.models import OutboxMessage
    from app.programme.reminder_rules import rules_for

    missing: list[str] = []
    problems: list[str] = []
    states: collections.Counter[str] = collections.Counter()
    with app.app_context():
        applications = {a.applicant_id: a for a in db.session.scalars(
            select(Application).where(Application.cohort_id == cohort_id, Application.applicant_id.in_(list(numbers)))
            .options(selectinload(Application.events), selectinload(Application.approvals),
                     selectinload(Application.organisation), selectinload(Application.applicant)))}
        keys = set(db.session.scalars(select(OutboxMessage.key)))
        chasers = rules_for([cohort_id])[cohort_id]["sponsor_chaser"]
        by_id = {a.id: a for a in applications.values()}
        for number, application_id in sorted(run.acknowledged.items()):
            application = by_id.get(application_id)
            if application is None or numbers[application.applicant_id] != number:
                missing.append(f"applicant {number}: application {application_id} is not there")
            elif application.status != ApplicationStatus.AWAITING_SPONSOR or application.submitted_at is None:
                missing.append(f"applicant {number}: application {application_id} is {application.status}")
        for user_id, application in applications.items():
            number = numbers[user_id]
            events = [e.to_status for e in application.events]
            mine = sorted(k for k in keys if k == f"application-submitted:{application.id}"
                          or any(k.startswith(f"sponsor-{kind}:{a.id}:") for a in application.approvals
                                 for kind in ("request", "chaser")))
            where = f"applicant {number}, application {application.id} ({application.status})"
            if application.status == ApplicationStatus.DRAFT:
                states["draft"] += 1
                if application.submitted_at or events != ["draft"] or application.approvals or mine:
                    problems.append(f"{where}: a draft with submitted_at={application.submitted_at}, "
                                    f"history {events}, {len(application.approvals)} requests, emails {mine}")
                continue
            states["submitted"] += 1
            wrong = []
            if application.status != ApplicationStatus.AWAITING_SPONSOR or application.submitted_at is None:
                wrong.append(f"submitted_at={application.submitted_at}")
            if services.missing_answers(application):
                wrong.append(f"missing {sorted(services.missing_answers(application))}")
            sent = answers_for(number, organisation_ids[number % len(organisation_ids)])
            for name in ("job_title", "profession", "phone", "cop_title", "cop_domain", "cop_members",
                         "boundaries_how", "hopes", "sponsor_name", "sponsor_email", "sponsor_job_title"):
                if getattr(application, name) != sent[name]:
                    wrong.append(f"{name}={getattr(application, name)!r}")
            organisation = application.organisation
            expected_organisation = sent.get("new_organisation_name") or None
            if organisation is None or (expected_organisation and organisation.name != expected_organisation) or (
                    not expected_organisation and str(organisation.id) != sent["organisation_id"]):
                wrong.append(f"organisation {organisation and organisation.name!r}")
            if events != ["draft", "submitted", "awaiting_sponsor"]:
                wrong.append(f"history {events}")
            approvals = application.approvals
            if len(approvals) != 1 or approvals[0].decision != SponsorDecision.PENDING or \
                    approvals[0].sponsor_email != sent["sponsor_email"]:
                wrong.append(f"{len(approvals)} line-manager requests")
            else:
                approval = approvals[0]
                days = [d for d in (chasers.days if chasers.enabled else ())
                        if approval.requested_at + timedelta(days=d) < approval.expires_at]
                expected = {f"application-submitted:{application.id}"}
                if sum(k.startswith(f"sponsor-request:{approval.id}:") for k in mine) != 1:
                    wrong.append("no line-manager email")
                if not expected <= set(mine):
                    wrong.append("no confirmation email to the applicant")
                if sorted(int(k.rsplit(":", 1)[1]) for k in mine if k.startswith("sponsor-chaser:")) != sorted(days):
                    wrong.append(f"chasers {[k for k in mine if k.startswith('sponsor-chaser:')]}, wanted days {days}")
            if wrong:
                problems.append(f"{where}: " + "; ".join(wrong))
        states["absent"] = len(numbers) - len(applications)
    return missing, problems, states


def start_logging_to(log: Path, site: LargeSite) -> None:
    """Start gunicorn with its stderr (its "worker was sent SIGKILL" lines, any traceback) in `log`."""
    saved = os.dup(2)
    try:
        with log.open("w") as file:
            os.dup2(file.fileno(), 2)
            site.start(workers=WORKERS)
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def kill_test(database_url: str | None, label: str) -> list[Figure]:
    rng = random.Random(20)
    with LargeSite(database_url=database_url, seed=False) as site:
        started = time.perf_counter()
        app = site.app()
        cohort_id, numbers, cookies, organisation_ids = prepare(site, app)
        log = site.folder / "gunicorn.log"
        start_logging_to(log, site)
        run = Run()
        work: collections.deque[tuple[int, int]] = collections.deque()
        fresh = collections.deque(range(1, APPLICANTS + 1))
        busy = [0]
        browsers = {number: Browser(site.port, cookie) for number, cookie in cookies.items()}
        threads = [threading.Thread(target=browse, args=(run, browsers, work, fresh, busy, organisation_ids))
                   for _ in range(BROWSERS)]
        killer = threading.Thread(target=kill_workers, args=(site, run, rng))
        running = time.perf_counter()
        for thread in [*threads, killer]:
            thread.start()
        for thread in [*threads, killer]:
            thread.join()
        under_fire = time.perf_counter() - running
        site.stop()
        missing, problems, states = audit(app, cohort_id, numbers, run, organisation_ids)
        total = time.perf_counter() - started
        logged = log.read_text(errors="replace").splitlines()
    reaped = sum("was sent SIGKILL" in line for line in logged)
    tracebacks = sum(line.startswith("Traceback") for line in logged)
    others = [line for line in logged if "was sent SIGKILL" not in line]
    for line in [*run.server_errors, *run.unexpected, *missing, *problems, *others][:30]:
        print(f"  {label}: {line}", file=sys.stderr)
    started_count = len(numbers) - len(fresh)
    return [
        Figure(f"{label}: SIGKILLs of a web worker mid-request", str(run.kills_mid_request), str(KILLS),
               run.kills_mid_request == KILLS),
        Figure(f"{label}: of those, at a worker serving a submit", str(run.kills_aimed), "", None),
        Figure(f"{label}: SIGKILLs that landed after the reply (not counted)",
               str(run.kills - run.kills_mid_request), "", None),
        Figure(f"{label}: killed workers gunicorn logged and replaced", str(reaped), str(run.kills),
               reaped == run.kills),
        Figure(f"{label}: applicants walked ({BROWSERS} browsers, {under_fire:.0f} s)", str(started_count), "", None),
        Figure(f"{label}: requests cut by a kill (submits among them)",
               f"{sum(run.cut.values())} ({run.cut['submit']})", "", None),
        Figure(f"{label}: submits acknowledged", str(len(run.acknowledged)), "", None),
        Figure(f"{label}: submitted, reply lost to a kill", str(len(run.submitted_unacknowledged)), "", None),
        Figure(f"{label}: acknowledged but missing", str(len(missing)), "0", not missing),
        Figure(f"{label}: submitted / draft / absent",
               f"{states['submitted']} / {states['draft']} / {states['absent']}", "", None),
        Figure(f"{label}: incomplete or half-written applications", str(len(problems)), "0", not problems),
        Figure(f"{label}: server errors (5xx)", str(len(run.server_errors)), "0", not run.server_errors),
        Figure(f"{label}: other unexpected replies", str(len(run.unexpected)), "0", not run.unexpected),
        Figure(f"{label}: tracebacks in gunicorn's log", str(tracebacks), "0", tracebacks == 0),
        Figure(f"{label}: applicants given up after {ATTEMPTS} attempts", str(len(run.given_up)), "", None),
        Figure(f"{label}: whole test", f"{total:.0f} s", "", None),
    ]


def main() -> int:
    global APPLICANTS, KILLS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="run on a throwaway PostgreSQL, not SQLite")
    parser.add_argument("--applicants", type=int, default=APPLICANTS, help="applicant accounts to walk")
    parser.add_argument("--kills", type=int, default=KILLS, help="SIGKILLs mid-request to aim for")
    args = parser.parse_args()
    APPLICANTS, KILLS = args.applicants, args.kills
    if args.postgres:
        with throwaway_postgres() as url:
            if url is None:
                print_table([Figure("kill test on PostgreSQL", "skipped", "initdb installed", False)])
                return 1
            figures = kill_test(url, "PostgreSQL")
    else:
        figures = kill_test(None, "SQLite")
    print_table(figures)
    return 0 if all(figure.passed is not False for figure in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
