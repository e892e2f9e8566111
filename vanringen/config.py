"""Typed settings, read from the environment (and nothing else) at app creation."""

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

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
    PHONE_REGION: str = "SE"
    TIMEZONE: str = "Europe/Stockholm"
    MAX_UPLOAD_MB: int = 20


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
    values["MAX_CONTENT_LENGTH"] = values["MAX_UPLOAD_MB"] * 1024 * 1024
    values["BABEL_DEFAULT_LOCALE"] = "sv"
    values["BABEL_DEFAULT_TIMEZONE"] = values["TIMEZONE"]
    values["WTF_I18N_ENABLED"] = True
    if values["VANRINGEN_ENV"] == "production":
        values.setdefault("SESSION_COOKIE_SECURE", True)
    values.setdefault("SESSION_COOKIE_HTTPONLY", True)
    values.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    return values


def normalise_database_url(url: str) -> str:
    """Heroku-style `postgres://` URLs name no driver; SQLAlchemy needs psycopg 3 named."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
