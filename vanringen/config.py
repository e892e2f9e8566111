"""Typed settings, read from the environment (and nothing else) at app creation."""

import re
from datetime import timedelta
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic_settings import BaseSettings, SettingsConfigDict

from .schedule import rules_from_config

# Voice reminders fetch their words from the app, so Twilio must know where it is.
TWILIO_SETTINGS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_PHONE_NUMBER",
                   "PUBLIC_BASE_URL")
RATE_LIMITS = ("RATELIMIT_LOGIN", "RATELIMIT_APPLY", "RATELIMIT_LINK")
INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=True)

    VANRINGEN_ENV: Literal["development", "production"] = "development"
    DATABASE_URL: str = ""
    SECRET_KEY: str = ""
    NOTIFY_BACKEND: Literal["outbox", "console", "twilio"] = "outbox"
    TWILIO_ACCOUNT_SID: str = ""
    TWILIO_AUTH_TOKEN: str = ""
    TWILIO_PHONE_NUMBER: str = ""
    PUBLIC_BASE_URL: str = ""
    # Belastningsregisterutdrag are commonly asked for anew every year.
    POLICE_RECORD_VALID_DAYS: int = 365
    # The dashboard lists extracts that run out within this many days.
    POLICE_RECORD_WARN_DAYS: int = 30
    PHONE_REGION: str = "SE"
    TIMEZONE: str = "Europe/Stockholm"
    MAX_UPLOAD_MB: int = 20
    # Reminders, all in local time (TIMEZONE).
    VOLUNTEER_REMINDER_MINUTES: int = 60
    SENIOR_REMINDER_TIME: str = "09:00"
    QUIET_HOURS: str = "20:00-09:00"
    # Where a reminder that would fall in the quiet hours goes instead: the evening before.
    EVENING_REMINDER_TIME: str = "19:00"
    # An undelivered reminder or unanswered reminder call is tried once more this much later.
    REMINDER_RETRY_MINUTES: int = 30
    PLAN_DAYS: int = 14
    # The clock process: how often it sends what is due, and how long a claim holds.
    DISPATCH_INTERVAL_SECONDS: int = 10
    DISPATCH_LEASE_SECONDS: int = 120
    DISPATCH_BATCH: int = 100
    # Temporary send errors (timeouts, 5xx, 429): retried after 1, 2, 4 … minutes.
    SEND_MAX_ATTEMPTS: int = 5
    SEND_BACKOFF_SECONDS: int = 60
    # Calls through the programme's number: volunteers never see a senior's number.
    MASKED_CALLS: bool = False
    # How long a senior's phone rings when a call is put through.
    DIAL_TIMEOUT_SECONDS: int = 30
    # A volunteer's personal link (in reminder SMS) works this long.
    VOLUNTEER_LINK_DAYS: int = 30
    # Follow-up: each rule opens one task for a coordinator.
    FOLLOWUP_NO_CALL_DAYS: int = 14
    FOLLOWUP_NO_ANSWER_COUNT: int = 3
    FOLLOWUP_NO_REPORT_DAYS: int = 21
    FOLLOWUP_INTERVAL_MINUTES: int = 15
    # The intake line: how long a caller may speak, and whether Twilio transcribes it.
    INTAKE_RECORDING_SECONDS: int = 120
    INTAKE_TRANSCRIBE: bool = False
    # Rate limits (Flask-Limiter) per client address; shared between web workers through
    # Redis when REDIS_URL is set, else counted in each process's memory.
    REDIS_URL: str = ""
    RATELIMIT_LOGIN: str = "10 per minute"
    RATELIMIT_APPLY: str = "5 per minute"
    RATELIMIT_LINK: str = "30 per minute"
    # Proxies in front of the app whose X-Forwarded-For is believed (1 behind one router).
    TRUSTED_PROXIES: int = 0
    # Redirect http to https in the app, for a proxy that does not (off: the proxy's job).
    FORCE_HTTPS: bool = False
    # Reports: computed figures are reused this long (0: always computed anew); groups
    # smaller than REPORT_MIN_GROUP people are suppressed in every report and export.
    REPORT_CACHE_SECONDS: int = 600
    # Without REDIS_URL, computed reports are kept in files here (default: under instance/),
    # so every web worker on the machine shares them.
    REPORT_CACHE_DIR: str = ""
    REPORT_MIN_GROUP: int = 5
    # Retention (the scheduler runs it daily at RETENTION_TIME, local time): ended
    # participants are anonymised this many months after their last pair ended or their
    # application was declined; intake-line recordings are deleted after INTAKE_RECORDING_DAYS;
    # audit rows older than AUDIT_RETENTION_MONTHS are removed (never less than 12).
    RETENTION_MONTHS: int = 24
    INTAKE_RECORDING_DAYS: int = 90
    AUDIT_RETENTION_MONTHS: int = 36
    RETENTION_TIME: str = "03:30"
    # Staff sessions end after this long without a request.
    SESSION_IDLE_MINUTES: int = 30
    # This many failed sign-ins in a row lock the account for LOGIN_LOCK_MINUTES.
    LOGIN_MAX_FAILURES: int = 5
    LOGIN_LOCK_MINUTES: int = 15
    # A password-reset link works this long, and only once.
    PASSWORD_RESET_MINUTES: int = 60
    # Admins must set up a second factor (TOTP) before they can use the admin pages.
    REQUIRE_TOTP_FOR_ADMINS: bool = False
    # E-mail (password resets): smtp://user:password@host:587 (STARTTLS) or smtps://…:465;
    # without it e-mails are only recorded in the outbox like SMS.
    SMTP_URL: str = ""
    MAIL_FROM: str = "Vänringen <no-reply@vanringen.se>"


def load_config(config: dict | None = None) -> dict:
    """Environment settings, overridden by an explicit mapping (tests), checked for production."""
    values = Settings().model_dump()
    if config:
        values.update(config)
    if not values["DATABASE_URL"]:
        INSTANCE_DIR.mkdir(exist_ok=True)
        values["DATABASE_URL"] = f"sqlite:///{INSTANCE_DIR / 'vanringen.sqlite'}"
    if not values["SECRET_KEY"]:
        if values["VANRINGEN_ENV"] == "production":
            raise RuntimeError(
                "SECRET_KEY saknas: sätt miljövariabeln SECRET_KEY i produktion "
                "(SECRET_KEY is required when VANRINGEN_ENV=production)."
            )
        values["SECRET_KEY"] = "dev-only-not-secret"
    values["DATABASE_URL"] = normalise_database_url(values["DATABASE_URL"])
    if values["NOTIFY_BACKEND"] == "twilio":
        missing = [name for name in TWILIO_SETTINGS if not values[name]]
        if missing:
            raise RuntimeError(
                f"NOTIFY_BACKEND=twilio kräver {', '.join(missing)} "
                f"(NOTIFY_BACKEND=twilio needs {', '.join(missing)}).")
        if not re.fullmatch(r"\+[1-9]\d{6,14}", values["TWILIO_PHONE_NUMBER"]):
            raise RuntimeError("TWILIO_PHONE_NUMBER ska skrivas i E.164, t.ex. +46766861004.")
    if values["MASKED_CALLS"] and not values["TWILIO_PHONE_NUMBER"]:
        raise RuntimeError("MASKED_CALLS kräver TWILIO_PHONE_NUMBER: volontärerna ringer "
                           "programmets nummer (MASKED_CALLS needs TWILIO_PHONE_NUMBER).")
    values["PUBLIC_BASE_URL"] = values["PUBLIC_BASE_URL"].rstrip("/")
    rules_from_config(values)  # a bad reminder time stops start-up, not the first tick
    for name in RATE_LIMITS:  # so does a limit the limiter cannot read
        try:
            parse_many(values[name])
        except ValueError:
            raise RuntimeError(f"{name} ska skrivas t.ex. \"10 per minute\" "
                               f"(not {values[name]!r}).") from None
    values["MAX_CONTENT_LENGTH"] = values["MAX_UPLOAD_MB"] * 1024 * 1024
    values["BABEL_DEFAULT_LOCALE"] = "sv"
    values["BABEL_DEFAULT_TIMEZONE"] = values["TIMEZONE"]
    values["WTF_I18N_ENABLED"] = True
    if values["VANRINGEN_ENV"] == "production":
        values.setdefault("SESSION_COOKIE_SECURE", True)
    values.setdefault("SESSION_COOKIE_HTTPONLY", True)
    values.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    # Idle expiry is checked on the server (auth.check_session); the cookie outlives it by
    # half a day so that the browser still sends it and the sign-in page can say why.
    values["PERMANENT_SESSION_LIFETIME"] = (timedelta(minutes=values["SESSION_IDLE_MINUTES"])
                                            + timedelta(hours=12))
    values["AUDIT_RETENTION_MONTHS"] = max(12, values["AUDIT_RETENTION_MONTHS"])
    return values


def normalise_database_url(url: str) -> str:
    """Heroku-style `postgres://` URLs name no driver; SQLAlchemy needs psycopg 3 named."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
