"""The client host of bench/topology.py: each phase makes requests through nginx and prints one JSON line.

Runs inside the client's network namespace; addresses 10.77.0.50-57 stand for different people
(.50-.55 one trust's network, .56 and .57 people at home).
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import sys
import threading
import time
import uuid
from collections import Counter
from http.cookies import SimpleCookie
from urllib.parse import urlencode

PROXY = "10.77.0.2"
HOST = "convene.test"
PASSWORD = "demo-password"


class Browser:
    """Just enough of a browser: one source address, cookies, CSRF tokens from forms."""

    def __init__(self, ca: str, source: str = "10.77.0.50"):
        self.context = ssl.create_default_context(cafile=ca)
        self.source = source
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None, timeout: float = 15):
        # TLS to nginx's address, with SNI and the certificate's name convene.test, from our address.
        raw = socket.create_connection((PROXY, 443), timeout, (self.source, 0))
        connection = http.client.HTTPConnection(PROXY, 443, timeout=timeout)
        connection.sock = self.context.wrap_socket(raw, server_hostname=HOST)
        headers = {"Host": HOST}
        body = None
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"https://{HOST}"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        for header in response.msg.get_all("Set-Cookie") or []:
            for key, morsel in SimpleCookie(header).items():
                self.cookies[key] = morsel.value
        return response, data

    def token(self, path: str) -> str:
        _response, page = self.request("GET", path)
        match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
        return match.group(1) if match else ""

    def sign_in(self, email: str, password: str = PASSWORD) -> tuple[int, bool]:
        token = self.token("/sign-in")
        response, _ = self.request("POST", "/sign-in", {"csrf_token": token, "email": email, "password": password})
        return response.status, response.status == 302 and "/sign-in" not in (response.getheader("Location") or "")


def ready(args):
    try:
        response, _ = Browser(args["ca"]).request("GET", "/sign-in", timeout=3)
        return {"ok": response.status == 200}
    except OSError:
        return {"ok": False}


def tls(args):
    browser = Browser(args["ca"])
    response, _ = browser.request("GET", "/sign-in")
    cookies = response.msg.get_all("Set-Cookie") or []
    plain = http.client.HTTPConnection(PROXY, 80, timeout=5, source_address=("10.77.0.50", 0))
    plain.request("GET", "/sign-in", headers={"Host": HOST})
    redirect = plain.getresponse()
    return {"hsts": response.getheader("Strict-Transport-Security") or "",
            "cookie_secure": bool(cookies) and all("Secure" in c and "HttpOnly" in c for c in cookies),
            "redirect": f"{redirect.status} {redirect.getheader('Location')}"}


def limits(args):
    emails = args["emails"]
    signed_in = 0
    for email in emails[:28]:
        _status, ok = Browser(args["ca"], "10.77.0.51").sign_in(email)
        signed_in += ok
    home = Browser(args["ca"], "10.77.0.56")
    statuses = []
    for n in range(args["attempts"]):
        token = home.token("/password/forgot")
        response, _ = home.request("POST", "/password/forgot", {"csrf_token": token,
                                                                "email": f"nobody-{n}@example.org"})
        statuses.append(response.status)
    other = Browser(args["ca"], "10.77.0.57")
    token = other.token("/password/forgot")
    response, _ = other.request("POST", "/password/forgot", {"csrf_token": token, "email": "someone@example.org"})
    ok = statuses.index(429) if 429 in statuses else len(statuses)
    return {"signed_in": signed_in, "reset_ok": ok, "reset_429": statuses.count(429), "other_ok": response.status,
            "origins": args.get("origins", "")}


def load(args):
    """Six people register over and over for `seconds`; a registration is acknowledged by its page."""
    acknowledged, errors = [], Counter()
    lock = threading.Lock()
    stop = time.monotonic() + args["seconds"]

    def person(source: str):
        browser = Browser(args["ca"], source)
        while time.monotonic() < stop:
            email = f"load-{uuid.uuid4().hex[:12]}@example.org"
            try:
                token = browser.token("/register")
                response, page = browser.request("POST", "/register", {
                    "csrf_token": token, "name": "Load Person", "email": email, "job_title": "",
                    "password": "a long enough phrase", "confirm": "a long enough phrase"})
            except OSError as error:
                with lock:
                    errors[type(error).__name__] += 1
                continue
            with lock:
                if response.status == 200 and "Check your email" in page:
                    acknowledged.append(email)
                else:
                    errors[str(response.status)] += 1

    threads = [threading.Thread(target=person, args=(f"10.77.0.{50 + n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"acknowledged": acknowledged, "errors": sum(errors.values()), "by_kind": dict(errors)}


def statuses(args):
    seen = Counter()
    stop = time.monotonic() + args["seconds"]
    while time.monotonic() < stop:
        try:
            response, _ = Browser(args["ca"]).request("GET", "/", timeout=5)
            seen[str(response.status)] += 1
        except OSError as error:
            seen[type(error).__name__] += 1
        time.sleep(0.2)
    return {"statuses": dict(seen)}


def recovers(args):
    started = time.monotonic()
    while time.monotonic() - started < args["seconds"]:
        try:
            response, _ = Browser(args["ca"]).request("GET", "/", timeout=5)
            if response.status == 200:
                return {"ok": True, "seconds": time.monotonic() - started}
        except OSError:
            pass
        time.sleep(0.2)
    return {"ok": False, "seconds": time.monotonic() - started}


def signin(args):
    status, ok = Browser(args["ca"], "10.77.0.55").sign_in("team@example.org")
    return {"status": status, "signed_in": ok}


def emails(args):
    """Registrations from several addresses: each queues one confirmation email to a mail- address."""
    queued = 0
    for n in range(args["count"]):
        browser = Browser(args["ca"], f"10.77.0.{50 + n % 8}")
        token = browser.token("/register")
        response, page = browser.request("POST", "/register", {
            "csrf_token": token, "name": f"Mail Person {n}", "email": f"mail-{n}-{uuid.uuid4().hex[:6]}@example.org",
            "job_title": "", "password": "a long enough phrase", "confirm": "a long enough phrase"})
        queued += response.status == 200 and "Check your email" in page
    return {"queued": queued}


if __name__ == "__main__":
    phase, arguments = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps(globals()[phase](arguments)))
