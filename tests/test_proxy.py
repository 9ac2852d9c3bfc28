"""PROXY_HOPS: behind that many proxies the client's address (rate limits, the audit log) and scheme come
from X-Forwarded-For/-Proto; with 0 (the default) those headers are ignored, since anyone can send them."""

from __future__ import annotations

import pytest
from flask import jsonify, request
from flask_limiter.util import get_remote_address

from app import audit, create_app
from app.db import db
from app.extensions import limiter

SOCKET = {"REMOTE_ADDR": "10.0.0.5"}  # the proxy's own address, as the server sees the connection


@pytest.fixture
def app_with(app):
    """An app built with these settings, and an endpoint saying who it thinks the client is."""
    made = []

    def build(**settings):
        built = create_app({**app.config, **settings})

        @built.get("/__who")
        def who():
            return jsonify(remote_addr=request.remote_addr, limiter_key=get_remote_address(),
                           audit_origin=audit._origin.get(), scheme=request.scheme, host=request.host)

        who.access_rule = "public"
        made.append(built)
        return built

    yield build
    if limiter.enabled:
        limiter.reset()
    limiter.enabled = False
    for built in made:
        with built.app_context():
            db.session.remove()
            db.engine.dispose()


def who(app, forwarded_for: str | None = None, **headers) -> dict:
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    return app.test_client().get("/__who", headers=headers, environ_base=SOCKET).get_json()


def test_by_default_the_socket_address_counts_and_a_forged_header_is_ignored(app_with):
    plain = app_with()
    assert plain.config["PROXY_HOPS"] == 0
    seen = who(plain, "203.0.113.7", **{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"})
    assert seen == {"remote_addr": "10.0.0.5", "limiter_key": "10.0.0.5", "audit_origin": "10.0.0.5",
                    "scheme": "http", "host": "localhost"}


def test_behind_one_proxy_its_client_counts(app_with):
    proxied = app_with(PROXY_HOPS=1)
    seen = who(proxied, "203.0.113.7", **{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"})
    assert seen["remote_addr"] == seen["limiter_key"] == seen["audit_origin"] == "203.0.113.7"
    assert seen["scheme"] == "https"
    assert seen["host"] == "localhost"  # never the forwarded host: links are built from BASE_URL


def test_behind_one_proxy_only_the_last_hop_is_trusted(app_with):
    # The client sent its own X-Forwarded-For; our proxy appended the address it really saw.
    seen = who(app_with(PROXY_HOPS=1), "198.51.100.66, 203.0.113.7")
    assert seen["remote_addr"] == seen["limiter_key"] == "203.0.113.7"


def test_behind_two_proxies_the_address_two_hops_back_counts(app_with):
    seen = who(app_with(PROXY_HOPS=2), "198.51.100.66, 203.0.113.7, 10.0.0.9")
    assert seen["remote_addr"] == "203.0.113.7"


def test_rate_limits_count_each_client_behind_the_proxy(app_with):
    proxied = app_with(PROXY_HOPS=1, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")

    @proxied.get("/__limited")
    @limiter.limit("3 per minute")
    def limited():
        return "ok"

    limited.access_rule = "public"

    def status(forwarded_for: str) -> int:
        client = proxied.test_client()
        return client.get("/__limited", headers={"X-Forwarded-For": forwarded_for}, environ_base=SOCKET).status_code

    assert [status("203.0.113.7") for _ in range(4)] == [200, 200, 200, 429]
    assert status("203.0.113.8") == 200  # another person behind the same proxy is not held back
    assert status("198.51.100.66, 203.0.113.8") == 200  # a forged first entry does not change who it is
    assert status("198.51.100.66, 203.0.113.7") == 429
