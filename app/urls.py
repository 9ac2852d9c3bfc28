"""Absolute links for emails and calendar feeds, always from the configured BASE_URL.

Never from the request's Host header: a forged Host would otherwise put an attacker's address
into a password reset or sign-off email.
"""

from urllib.parse import urlsplit

from flask import current_app


def absolute_url(endpoint: str, **values) -> str:
    adapter = current_app.url_map.bind("convene.invalid", url_scheme="https")
    path = adapter.build(endpoint, values, force_external=False)
    return current_app.config["BASE_URL"].rstrip("/") + path


def site_domain() -> str:
    """The host name of BASE_URL: for Message-IDs and calendar UIDs."""
    return urlsplit(current_app.config["BASE_URL"]).hostname or "convene.local"
