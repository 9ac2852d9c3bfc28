"""Configuration classes. Environment variables are read here and nowhere else."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("CONVENE_INSTANCE_PATH", BASE_DIR / "instance"))

# Values a production deployment must replace; production refuses to start with them.
INSECURE_SECRET_KEYS = {"", "dev", "change-me", "development-only-secret-key"}


class ConfigurationError(Exception):
    """Convene cannot start: one sentence saying what to put right (printed without a traceback)."""


# Settings that could not be read, said once the configuration is chosen (Config.validate).
_PROBLEMS: list[str] = []


def _database_url(default: str) -> str:
    """DATABASE_URL; the postgres:// and postgresql:// forms hosting services give use psycopg 3."""
    url = os.environ.get("DATABASE_URL") or default
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        _PROBLEMS.append(f"{name} must be a whole number, not {value!r}")
        return default


SMTP_TLS_MODES = ("none", "starttls", "implicit")


def _smtp_tls() -> str:
    """SMTP_TLS: none, starttls (upgrade a plain connection, port 587 or 25) or implicit (TLS from the first
    byte, port 465). Without it, SMTP_SSL=true means implicit and SMTP_STARTTLS=true starttls."""
    value = os.environ.get("SMTP_TLS", "").strip().lower()
    if not value:
        return "implicit" if _bool("SMTP_SSL", False) else "starttls" if _bool("SMTP_STARTTLS", False) else "none"
    if value not in SMTP_TLS_MODES:
        _PROBLEMS.append(f"SMTP_TLS must be one of {', '.join(SMTP_TLS_MODES)}, not {value!r}")
        return "none"
    return value


class Config:
    """Settings shared by every environment."""

    PROGRAMME_NAME = os.environ.get("PROGRAMME_NAME", "Communities of Practice Leadership Programme")
    # An image URL for an organisation logo in the header; the NHS logo is never shown by default.
    HEADER_LOGO_URL = os.environ.get("HEADER_LOGO_URL", "")
    SECRET_KEY = os.environ.get("SECRET_KEY", "development-only-secret-key")
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    # How many proxies (load balancer, nginx) stand in front and add X-Forwarded-For/-Proto: the client's
    # address is taken that many hops back. 0 trusts no such header (a client could forge it).
    PROXY_HOPS = _int("PROXY_HOPS", 0)
    SQLALCHEMY_DATABASE_URI = _database_url(
        f"sqlite:///{INSTANCE_DIR / 'convene.sqlite3'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    CONTENT_DIR = Path(os.environ.get("CONTENT_DIR", BASE_DIR / "modules_content"))
    UPLOAD_DIR = Path(os.environ.get("UPLOAD_DIR", INSTANCE_DIR / "uploads"))

    MAIL_TRANSPORT = os.environ.get("MAIL_TRANSPORT", "file")  # file | smtp | memory
    MAIL_FILE_DIR = Path(os.environ.get("MAIL_FILE_DIR", INSTANCE_DIR / "mail"))
    MAIL_FROM = os.environ.get("MAIL_FROM", "Convene <no-reply@convene.example>")
    # Who people contact about the programme and about their data (shown on the privacy notice).
    CONTACT_EMAIL = os.environ.get("CONTACT_EMAIL", "programme-team@convene.example")
    DATA_PROTECTION_EMAIL = os.environ.get("DATA_PROTECTION_EMAIL", "data-protection@convene.example")
    SMTP_HOST = os.environ.get("SMTP_HOST", "localhost")
    # The server's certificate and name are always checked when TLS is used: against the system's
    # certificate authorities, or those in SMTP_CA_FILE (PEM) for a private one.
    SMTP_TLS = _smtp_tls()
    SMTP_CA_FILE = os.environ.get("SMTP_CA_FILE", "")
    SMTP_PORT = _int("SMTP_PORT", 465 if SMTP_TLS == "implicit" else 25)
    SMTP_USERNAME = os.environ.get("SMTP_USERNAME", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_STARTTLS = SMTP_TLS == "starttls"
    SMTP_TIMEOUT = _int("SMTP_TIMEOUT", 10)
    OUTBOX_BATCH_SIZE = _int("OUTBOX_BATCH_SIZE", 500)
    # A refused email is tried again after 1, 2, 4 ... minutes, at most OUTBOX_RETRY_MAX_MINUTES apart,
    # until OUTBOX_GIVE_UP_HOURS after its first attempt; then it is failed (the team can retry it).
    OUTBOX_RETRY_MAX_MINUTES = _int("OUTBOX_RETRY_MAX_MINUTES", 60)
    OUTBOX_GIVE_UP_HOURS = _int("OUTBOX_GIVE_UP_HOURS", 48)
    # /healthz: mail due this long ago and not sent is overdue; a scheduler silent this long is stale.
    HEALTH_OVERDUE_MINUTES = _int("HEALTH_OVERDUE_MINUTES", 15)
    HEARTBEAT_STALE_MINUTES = _int("HEARTBEAT_STALE_MINUTES", 5)
    # /healthz tells anyone only "ok" or "error"; which check failed, and the counts, go to signed-in
    # staff and to a monitor sending this token (Authorization: Bearer ...). Empty: no token works.
    HEALTHZ_TOKEN = os.environ.get("HEALTHZ_TOKEN", "")

    # The scheduler runs inside the web process in the embedded default; production runs
    # `flask scheduler run` as its own process and sets this to false.
    SCHEDULER_EMBEDDED = _bool("SCHEDULER_EMBEDDED", False)
    SCHEDULER_SEND_INTERVAL_SECONDS = _int("SCHEDULER_SEND_INTERVAL_SECONDS", 60)
    # Names this scheduler's claims on the outbox, so a restarted scheduler at once takes back what it
    # held when it stopped. Default: the host name; several schedulers on one host each set their own.
    SCHEDULER_ID = os.environ.get("SCHEDULER_ID", "")
    # /healthz reports "error" when no scheduler has run a job within HEARTBEAT_STALE_MINUTES: on in
    # production (where `flask scheduler run` must be running), off by default elsewhere.
    SCHEDULER_REQUIRED = _bool("SCHEDULER_REQUIRED", False)

    SPONSOR_LINK_TTL = timedelta(days=_int("SPONSOR_LINK_TTL_DAYS", 14))
    PASSWORD_RESET_TTL = timedelta(minutes=_int("PASSWORD_RESET_TTL_MINUTES", 60))
    # How long the link that confirms a new account's email address works.
    EMAIL_CONFIRM_TTL = timedelta(hours=_int("EMAIL_CONFIRM_TTL_HOURS", 48))
    PERMANENT_SESSION_LIFETIME = timedelta(hours=_int("SESSION_LIFETIME_HOURS", 12))
    # A sign-in ends this long after it started however busy it is (the idle limits apply as well).
    SESSION_ABSOLUTE_LIFETIME = timedelta(hours=_int("SESSION_ABSOLUTE_HOURS", 12))
    # Wrong passwords: after this many for one account (or one typed address) it is refused for 1, 2,
    # 4 ... minutes, at most SIGN_IN_LOCK_MAX_MINUTES; per network address only failures count, at a
    # level a whole organisation behind one address never reaches. Registration likewise per address.
    SIGN_IN_FAILURES_BEFORE_LOCK = _int("SIGN_IN_FAILURES_BEFORE_LOCK", 5)
    SIGN_IN_LOCK_MAX_MINUTES = _int("SIGN_IN_LOCK_MAX_MINUTES", 15)
    SIGN_IN_FAILURES_PER_ADDRESS_PER_HOUR = _int("SIGN_IN_FAILURES_PER_ADDRESS_PER_HOUR", 300)
    REGISTRATIONS_PER_ADDRESS_PER_HOUR = _int("REGISTRATIONS_PER_ADDRESS_PER_HOUR", 200)
    # Password-reset emails to one account, whichever address asks.
    PASSWORD_RESETS_PER_ACCOUNT_PER_HOUR = _int("PASSWORD_RESETS_PER_ACCOUNT_PER_HOUR", 3)
    # Data retention (README "Data protection"): applied every night by the scheduler.
    RETENTION_APPLICATION_MONTHS = _int("RETENTION_APPLICATION_MONTHS", 12)
    RETENTION_COHORT_YEARS = _int("RETENTION_COHORT_YEARS", 6)
    RETENTION_EMAIL_DAYS = _int("RETENTION_EMAIL_DAYS", 90)
    RETENTION_AUDIT_YEARS = _int("RETENTION_AUDIT_YEARS", 6)
    # An account that belongs to nothing (no place, application, community or programme of work's team) is
    # erased this long after it last signed in.
    RETENTION_DORMANT_MONTHS = _int("RETENTION_DORMANT_MONTHS", 12)
    # Require team members to use two-step sign-in (an authenticator app).
    REQUIRE_TEAM_TWO_STEP = _bool("REQUIRE_TEAM_TWO_STEP", False)
    # Staff (team and facilitators) are signed out after this long without a request.
    STAFF_IDLE_TIMEOUT = timedelta(minutes=_int("STAFF_IDLE_MINUTES", 30))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    # Flask-WTF's "strict" check over HTTPS refuses a form posted without a Referer header; the pages
    # that carry a secret in their address send no Referer (Referrer-Policy: no-referrer), so behind
    # TLS every form on them would be refused. The CSRF token, SameSite cookies and HSTS protect
    # forms without it (bench/topology.py found this: forms behind nginx with TLS).
    WTF_CSRF_SSL_STRICT = False
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # Redis down: each process counts in memory until it answers again (looked for at most a minute apart), so
    # sign-in keeps working; an unanswering Redis host costs at most a second, not the TCP time-out.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_STORAGE_OPTIONS = ({"socket_connect_timeout": 1, "socket_timeout": 1}
                                 if RATELIMIT_STORAGE_URI.startswith(("redis://", "rediss://")) else {})
    # memory:// counts in each process apart, so production refuses it unless one process serves
    # Convene: RATELIMIT_SINGLE_PROCESS=true, or WEB_CONCURRENCY=1 (gunicorn's worker count).
    RATELIMIT_SINGLE_PROCESS = (_bool("RATELIMIT_SINGLE_PROCESS", False)
                                or os.environ.get("WEB_CONCURRENCY", "").strip() == "1")
    RATELIMIT_HEADERS_ENABLED = False
    MAX_UPLOAD_BYTES = _int("MAX_UPLOAD_MB", 20) * 1024 * 1024
    # Requests up to twice the file limit reach the form, which then says the file is too big
    # and keeps everything else typed; anything larger gets the 413 page.
    MAX_CONTENT_LENGTH = MAX_UPLOAD_BYTES * 2
    # Attendance: which session kinds count towards a participant's rate, and the at-risk line.
    ATTENDANCE_CORE_KINDS = tuple(
        k.strip() for k in os.environ.get("ATTENDANCE_CORE_KINDS", "welcome,module,celebration").split(",") if k.strip()
    )
    ATTENDANCE_AT_RISK_RATE = float(os.environ.get("ATTENDANCE_AT_RISK_RATE", "0.8"))
    # How long before a session starts its register opens.
    REGISTER_OPENS_MINUTES = _int("REGISTER_OPENS_MINUTES", 15)
    # Bank holidays the schedule template avoids (the `holidays` package's subdivision of GB).
    BANK_HOLIDAY_REGION = os.environ.get("BANK_HOLIDAY_REGION", "ENG")
    # Where fonts come from: nhsuk-frontend's CSS loads Frutiger from this host.
    FONT_ORIGIN = os.environ.get("FONT_ORIGIN", "https://assets.nhs.uk")
    HSTS = False
    TESTING = False
    DEBUG = False

    @classmethod
    def validate(cls) -> None:
        """Raise ConfigurationError if a setting could not be read (production checks more)."""
        problems = list(_PROBLEMS)
        url = cls.SQLALCHEMY_DATABASE_URI
        if not url.startswith(("sqlite://", "postgresql+psycopg://")):
            problems.append(f"DATABASE_URL must be a SQLite (sqlite:///path) or PostgreSQL "
                            f"(postgresql://user@host/name) address, not {url.split('://')[0]}://...")
        if cls.PROXY_HOPS < 0:
            problems.append(f"PROXY_HOPS must be 0 (no proxy in front) or the number of proxies, not {cls.PROXY_HOPS}")
        if cls.SMTP_CA_FILE and not Path(cls.SMTP_CA_FILE).is_file():
            problems.append(f"SMTP_CA_FILE must be a PEM file of certificate authorities, but {cls.SMTP_CA_FILE} "
                            "is not a file")
        if cls.HEALTHZ_TOKEN and len(cls.HEALTHZ_TOKEN) < 20:
            problems.append("HEALTHZ_TOKEN must be a random value of at least 20 characters, or empty")
        if cls.SCHEDULER_REQUIRED and cls.HEARTBEAT_STALE_MINUTES * 60 <= cls.SCHEDULER_SEND_INTERVAL_SECONDS:
            problems.append("HEARTBEAT_STALE_MINUTES must be longer than SCHEDULER_SEND_INTERVAL_SECONDS, or /healthz "
                            "would call a running scheduler stopped")
        if problems:
            raise ConfigurationError("; ".join(problems) + ".")


class DevelopmentConfig(Config):
    SCHEDULER_EMBEDDED = _bool("SCHEDULER_EMBEDDED", True)


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret-key"
    BASE_URL = "http://convene.test"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    MAIL_TRANSPORT = "memory"
    SCHEDULER_EMBEDDED = False
    RATELIMIT_ENABLED = False
    WTF_CSRF_ENABLED = True
    FONT_ORIGIN = ""  # tests never reach out to the internet


class ProductionConfig(Config):
    SCHEDULER_REQUIRED = _bool("SCHEDULER_REQUIRED", True)
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    HSTS = True

    @classmethod
    def validate(cls) -> None:
        super().validate()
        problems = []
        if cls.SECRET_KEY in INSECURE_SECRET_KEYS or len(cls.SECRET_KEY) < 32:
            problems.append("SECRET_KEY must be set to a random value of at least 32 characters")
        if not os.environ.get("BASE_URL"):
            problems.append("BASE_URL must be set to the public address, e.g. https://convene.example.org")
        if cls.RATELIMIT_ENABLED and cls.RATELIMIT_STORAGE_URI.startswith("memory://") \
                and not cls.RATELIMIT_SINGLE_PROCESS:
            problems.append("RATELIMIT_STORAGE_URI must name a store every web worker shares, e.g. "
                            "redis://127.0.0.1:6379/0, because memory:// counts each worker apart "
                            "(set RATELIMIT_SINGLE_PROCESS=true if one process serves Convene)")
        if problems:
            raise ConfigurationError("in production " + "; ".join(problems) + ".")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_environment() -> type[Config]:
    """The configuration class named by CONVENE_ENV (default: development)."""
    name = os.environ.get("CONVENE_ENV", "development").lower()
    if name not in CONFIGS:
        raise ConfigurationError(f"CONVENE_ENV must be one of {', '.join(CONFIGS)}, not {name!r}.")
    return CONFIGS[name]
