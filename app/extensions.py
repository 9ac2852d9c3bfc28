"""Extension objects, created unbound and initialised in create_app()."""

from urllib.parse import urlsplit, urlunsplit

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf import CSRFProtect
from limits.errors import ConfigurationError as LimitsConfigurationError

from app.db import db
from config import ConfigurationError


def storage_uri_for_people(uri: str) -> str:
    """A rate-limit storage address fit to print: any password replaced by ***."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


class RateLimiter(Limiter):
    """Flask-Limiter, with an unusable RATELIMIT_STORAGE_URI said in one sentence (app.startup prints it)."""

    def init_app(self, app: Flask) -> None:
        try:
            super().init_app(app)
        except LimitsConfigurationError as error:
            uri = storage_uri_for_people(app.config.get("RATELIMIT_STORAGE_URI", ""))
            raise ConfigurationError(f"RATELIMIT_STORAGE_URI {uri} cannot be used ({error}): use memory:// "
                                     "for one process, or redis://host:6379/0 for several.") from None


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
# The client's address is request.remote_addr: the socket's, or with PROXY_HOPS the one the proxies saw.
limiter = RateLimiter(key_func=get_remote_address)

__all__ = ["db", "migrate", "login_manager", "csrf", "limiter"]
