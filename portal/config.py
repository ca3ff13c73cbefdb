"""Settings come from the environment (``PORTAL_*``) with defaults that run on one
machine with no other server: SQLite under ``instance/``, limits in memory."""

import os
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"PORTAL_{name}", default)


def database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the plain form."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    SECRET_KEY = _env("SECRET_KEY", "dev-only-secret-change-me")
    INSTANCE_DIR = Path(_env("INSTANCE_DIR", str(ROOT / "instance")))
    SQLALCHEMY_DATABASE_URI = database_url(
        _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'portal.sqlite3'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    UPLOAD_DIR = Path(_env("UPLOAD_DIR", str(INSTANCE_DIR / "attachments")))
    ATTACHMENT_MAX_BYTES = int(_env("ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024)))
    ATTACHMENT_MAX_COUNT = int(_env("ATTACHMENT_MAX_COUNT", "5"))
    # Whole request: every attachment at its limit plus the form around them.
    MAX_CONTENT_LENGTH = ATTACHMENT_MAX_BYTES * ATTACHMENT_MAX_COUNT + 1024 * 1024

    HOTLINE_NUMBER = _env("HOTLINE_NUMBER", "+1 888 555 0199")
    SUPPORT_ADDRESS = _env("SUPPORT_ADDRESS", "support@support.example")
    TIMELINE_POLL_SECONDS = int(_env("TIMELINE_POLL_SECONDS", "4"))
    # Rendered case timelines kept per worker (see portal/cases/fragments.py); 0 = off.
    TIMELINE_CACHE_SIZE = int(_env("TIMELINE_CACHE_SIZE", "256"))
    CASE_ROW_CACHE_SIZE = int(_env("CASE_ROW_CACHE_SIZE", "2000"))  # rendered list rows
    CASES_PER_PAGE = 25

    MAIL_SERVER = _env("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = int(_env("MAIL_PORT", "25"))
    MAIL_USE_TLS = _env("MAIL_USE_TLS", "0") == "1"
    MAIL_USERNAME = _env("MAIL_USERNAME")
    MAIL_PASSWORD = _env("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = _env("MAIL_DEFAULT_SENDER", "Support <support@support.example>")
    MAIL_SUPPRESS_SEND = _env("MAIL_SUPPRESS_SEND", "0") == "1"
    MAIL_TIMEOUT = float(_env("MAIL_TIMEOUT", "30"))  # seconds per SMTP operation
    # Links in mail start here, never at a request's Host header (which the sender controls).
    PUBLIC_URL = _env("PUBLIC_URL")
    # Addresses the portal itself receives at: never mailed, so no loop can start.
    MAIL_OWN_ADDRESSES = tuple(
        a.strip().lower() for a in (_env("MAIL_OWN_ADDRESSES", "") or "").split(",") if a.strip()
    )
    # Automatic messages (nothing a person wrote to relay) per recipient per hour.
    MAIL_AUTOMATIC_PER_HOUR = int(_env("MAIL_AUTOMATIC_PER_HOUR", "20"))
    # The outbox: sent by the worker each minute; a failed attempt waits
    # base * 2**(attempts-1) seconds (at most max), and after that many attempts it is failed.
    OUTBOX_MAX_ATTEMPTS = int(_env("OUTBOX_MAX_ATTEMPTS", "10"))
    OUTBOX_RETRY_BASE_SECONDS = int(_env("OUTBOX_RETRY_BASE_SECONDS", "60"))
    OUTBOX_RETRY_MAX_SECONDS = int(_env("OUTBOX_RETRY_MAX_SECONDS", "3600"))
    # How long a claimed row belongs to the worker sending it; longer than one SMTP send.
    OUTBOX_LEASE_SECONDS = int(_env("OUTBOX_LEASE_SECONDS", "300"))
    OUTBOX_BATCH = int(_env("OUTBOX_BATCH", "200"))

    REDIS_URL = _env("REDIS_URL")
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "10 per minute")
    RESET_RATE_LIMIT = _env("RESET_RATE_LIMIT", "5 per hour")
    CASE_CREATE_RATE_LIMIT = _env("CASE_CREATE_RATE_LIMIT", "30 per hour")

    PASSWORD_RESET_MAX_AGE = timedelta(hours=1)
    INVITE_MAX_AGE = timedelta(days=7)

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env("COOKIE_SECURE", "0") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    # A session cookie older than this is refused (Flask checks the time it was
    # signed, permanent session or not): a working day.
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    # "Keep me signed in on this device": two weeks, not Flask-Login's default year.
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    WTF_CSRF_TIME_LIMIT = None  # token lives as long as the session


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    RATELIMIT_STORAGE_URI = "memory://"
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 0  # each test that sends mail points this at its own loopback server
    MAIL_TIMEOUT = 5.0
    MAIL_SUPPRESS_SEND = False
