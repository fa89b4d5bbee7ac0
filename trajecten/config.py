"""One settings object, read from environment variables (prefix ``TRAJECTEN_``).

A wrong setting fails at start with a message naming it (see :func:`load_settings`).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(RuntimeError):
    """A setting that cannot be used; the message names the environment variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRAJECTEN_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///trajecten.db",
        description="SQLAlchemy URL of the engine database: sqlite:///file.db or postgresql+psycopg://...",
    )
    batch_size: int = Field(default=2000, ge=1, le=100_000, description="due steps claimed per sweep batch")
    max_pogingen: int = Field(default=5, ge=1, le=100, description="attempts before a failing step becomes an incident")
    retry_start_s: int = Field(default=60, ge=1, description="first retry delay in seconds (doubles each attempt)")
    retry_max_s: int = Field(default=3600, ge=1, description="longest retry delay in seconds")
    te_laat_marge_s: int = Field(default=900, ge=0, description="a step fired later than this after due counts as late")
    dagstart: str = Field(default="08:00", pattern=r"^\d{2}:\d{2}$", description="local time at which a step of a day is due")
    feestdagen_tellen_mee: str = Field(
        default="",
        description="comma-separated Dutch holiday names that count as working days (e.g. 'Goede Vrijdag')",
    )
    extra_vrije_dagen: str = Field(default="", description="comma-separated extra closing days YYYY-MM-DD")

    sepa_debiteur_naam: str = Field(default="Gemeente Groningen (demo)", min_length=1, max_length=70,
                                    description="name on the municipality's paying account")
    sepa_debiteur_iban: str = Field(default="NL91ABNA0417164300", description="IBAN payouts are paid from")
    sepa_debiteur_bic: str = Field(default="ABNANL2A", description="BIC of that account")
    betaalbestand_schrijver: str = Field(
        default="connectors.sepa:schrijf_pain001",
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
        description="module:function that writes the payment file (connector, loaded by name)",
    )

    uwv_feed_koppeling: str = Field(default="connectors.uwv", description="module of the UWV feed connector")
    uwv_feed_map: str | None = Field(default=None, description="folder where UWV feed files arrive (hourly import)")
    export_map: str = Field(default="export", description="folder for payment files and monthly reports")
    sweep_interval_s: int = Field(default=60, ge=1, le=3600, description="embedded scheduler: seconds between sweeps")
    schema_signalen: str = Field(default="30 6 * * *", description="cron (Europe/Amsterdam): escalations and reminders")
    schema_feed: str = Field(default="0 * * * 1-5", description="cron: UWV feed import (hourly on working days)")
    schema_export: str = Field(default="0 7 * * 1-5", description="cron: payout export (daily on working days)")
    schema_rapportage: str = Field(default="0 6 1 * *", description="cron: monthly report (1st of the month)")

    @field_validator("schema_signalen", "schema_feed", "schema_export", "schema_rapportage")
    @classmethod
    def _cron(cls, v: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(v)
        except ValueError as exc:
            raise ValueError(f"not a crontab expression ({exc})") from None
        return v

    @field_validator("sepa_debiteur_iban")
    @classmethod
    def _iban(cls, v: str) -> str:
        from schwifty import IBAN
        from schwifty.exceptions import SchwiftyException

        try:
            return str(IBAN(v).compact)
        except SchwiftyException as exc:
            raise ValueError(f"not a valid IBAN ({exc})") from None

    @field_validator("sepa_debiteur_bic")
    @classmethod
    def _bic(cls, v: str) -> str:
        from schwifty import BIC
        from schwifty.exceptions import SchwiftyException

        try:
            return str(BIC(v).compact)
        except SchwiftyException as exc:
            raise ValueError(f"not a valid BIC ({exc})") from None

    @field_validator("database_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not (v.startswith("sqlite") or v.startswith("postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        return v

    @field_validator("extra_vrije_dagen")
    @classmethod
    def _dates(cls, v: str) -> str:
        for part in filter(None, (p.strip() for p in v.split(","))):
            date.fromisoformat(part)
        return v


def load_settings(**overrides) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        msgs = []
        for err in exc.errors():
            name = "TRAJECTEN_" + str(err["loc"][0]).upper() if err["loc"] else "settings"
            msgs.append(f"{name}: {err['msg']}")
        raise SettingsError("; ".join(msgs)) from None


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings()
