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


def safe_next(target: str | None) -> str | None:
    """A `next`-like value to follow, only if it is a path on this site: never another host, never a
    scheme-relative //host (nor /\\host, which browsers read the same), never a scheme."""
    if not target or not isinstance(target, str):
        return None
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//")
            or "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target)):
        return None
    return target


# URL variables whose value is itself a secret (a token in an emailed link, an anonymous answer's key).
SECRET_URL_VARIABLES = frozenset({"token", "key"})


def path_without_secrets(path: str, view_args: dict | None) -> str:
    """The request path with any secret URL variable replaced by "…": for audit rows and logs."""
    for name, value in (view_args or {}).items():
        if name in SECRET_URL_VARIABLES and value:
            path = path.replace(str(value), "…")
    return path
