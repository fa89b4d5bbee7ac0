"""One settings object, read from environment variables (prefix ``TRAJECTEN_``).

A wrong setting fails at start with a message naming it (see :func:`load_settings`).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from trajecten.basis.bsn import elfproef
from trajecten.basis.fouten import SettingsError
from trajecten.basis.omgeving import LOGBOEK_DEV_SLEUTEL, controleer




class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRAJECTEN_", extra="ignore")

    omgeving: Literal["ontwikkeling", "productie"] = Field(
        default="ontwikkeling",
        description="productie: every start (CLI, web, flows, scheduler) is refused, naming the setting, while a "
                    "development default is in place (Logboek key, frozen clock, demo paying account, a folder in "
                    "the working directory); ontwikkeling: a development secret is warned about once per process")

    database_url: str = Field(
        default="sqlite:///trajecten.db",
        description="SQLAlchemy URL of the engine database: sqlite:///file.db or postgresql+psycopg://...",
    )
    batch_size: int = Field(default=2000, ge=1, le=100_000, description="due steps claimed per sweep batch")
    max_pogingen: int = Field(default=5, ge=1, le=100, description="attempts before a failing step becomes an incident")
    retry_start_s: int = Field(default=60, ge=1, description="first retry delay in seconds (doubles each attempt)")
    retry_max_s: int = Field(default=3600, ge=1, description="longest retry delay in seconds")
    nu: datetime | None = Field(
        default=None,
        description="the engine's clock stands still at this moment (demos, acceptance tests); empty = the real "
                    "clock. Time zone: always Europe/Amsterdam (a time without zone is read as Amsterdam time)")
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
    uwv_feed_map: str | None = Field(default=None,
                                     description="folder where UWV feed files arrive (hourly import); a relative path "
                                                 "lies in TRAJECTEN_GEDEELDE_MAP when that is set")
    uwv_feed_url: str | None = Field(default=None, pattern=r"^https?://", description="URL of the UWV feed to pull")
    uwv_feed_token: str | None = Field(default=None, description="bearer token for the feed URL")
    uwv_feed_verify: str = Field(default="true", description="TLS: true, false, or the path of a CA bundle")
    uwv_feed_timeout_s: float = Field(default=10.0, gt=0, le=300, description="timeout per feed request")
    uwv_feed_paginagrootte: int = Field(default=1000, ge=1, le=10_000, description="records per feed page")
    export_map: str = Field(default="export",
                            description="folder for payment files (betalingen/) and monthly reports (rapportage/); "
                                        "a relative path lies in TRAJECTEN_GEDEELDE_MAP when that is set")
    gedeelde_map: str | None = Field(
        default=None,
        description="shared folder, mounted at the same absolute path on every worker (distributed mode): relative "
                    "TRAJECTEN_UWV_FEED_MAP and TRAJECTEN_EXPORT_MAP lie in it, so feed input, payment files and "
                    "reports do not land on whichever worker ran the job; unset: relative to the working directory")
    sweep_interval_s: int = Field(default=60, ge=1, le=3600,
                                  description="seconds between sweeps (embedded scheduler; prefect.yaml's sweep "
                                              "deployment runs on the same interval: see trajecten/taken/rooster.py)")
    schema_signalen: str = Field(default="30 6 * * *", description="cron (Europe/Amsterdam): escalations and reminders")
    schema_feed: str = Field(default="0 * * * 1-5", description="cron: UWV feed import (hourly on working days)")
    schema_export: str = Field(default="0 7 * * 1-5", description="cron: payout export (daily on working days)")
    schema_rapportage: str = Field(default="0 6 1 * *", description="cron: monthly report (1st of the month)")
    schema_kansen_in_kaart: str = Field(default="15 6 * * *",
                                        description="cron: Kansen in Kaart bijwerken (start/end the yearly contact "
                                                    "trajectories across the caseload; daily)")

    # Notifications to coaches and team leads (connectors/notificaties): e-mail over SMTP.
    meldingen_koppeling: str = Field(default="connectors.notificaties",
                                     description="module of the notifications connector (has meldingen_job)")
    meldingen_modus: Literal["digest", "per_gebeurtenis"] = Field(
        default="digest", description="digest: one mail per recipient per day; per_gebeurtenis: one mail per event")
    meldingen_digest_tijd: str = Field(default="07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
                                       description="local time (HH:MM) from which the daily digest is collected")
    schema_meldingen: str = Field(default="*/15 7-18 * * *",
                                  description="cron: notifications job (digest once a day, retries and per-event mails)")
    mail_domein: str = Field(default="gemeente.example", pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$",
                             description="mail domain of coaches and team leads: <ontvanger>@<mail_domein>")
    smtp_host: str | None = Field(default=None, min_length=1,
                                  description="SMTP server for notifications; without it the notifications job is off")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP port (25, or 587 with STARTTLS)")
    smtp_starttls: bool = Field(default=False, description="upgrade the SMTP connection with STARTTLS")
    smtp_gebruiker: str | None = Field(default=None, description="SMTP login user (no login when empty)")
    smtp_wachtwoord: SecretStr | None = Field(default=None, description="SMTP login password (never logged)")
    smtp_afzender: str = Field(default="trajecten@gemeente.example", pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                               description="From address of notification mails")
    smtp_timeout_s: float = Field(default=10.0, gt=0, le=300, description="SMTP connect/command timeout in seconds")

    # ZGW registration (connectors/zgw, docs/zgw.md): each trajectory is a zaak in the Zaken API (Open Zaak).
    zgw_koppeling: str = Field(default="connectors.zgw", description="module of the ZGW (Zaken API) connector")
    zgw_zaken_url: str | None = Field(
        default=None,
        description="base URL of the Zaken API, e.g. https://openzaak.example.nl/zaken/api/v1 (unset: ZGW off)",
    )
    zgw_client_id: str = Field(default="", max_length=100, validate_default=True, description="client id known to Open Zaak (JWT client_id, iss)")
    zgw_secret: SecretStr = Field(default=SecretStr(""), validate_default=True, description="secret shared with Open Zaak (signs the HS256 JWT)")
    zgw_rsin: str = Field(default="", validate_default=True, description="RSIN of the municipality: bronorganisatie and verantwoordelijkeOrganisatie")
    zgw_zaaktypen: str = Field(
        default=str(Path(__file__).resolve().parents[2] / "connectors" / "zgw" / "zaaktypen.yaml"),
        validate_default=True,
        description="YAML file: per instrument the zaaktype URL, statustype URL per phase, resultaattype URL per outcome",
    )
    zgw_identificatie_prefix: str = Field(default="TRJ-", pattern=r"^[A-Za-z0-9_-]{0,10}$",
                                          description="zaak identificatie = prefix + trajectory id")
    zgw_timeout_s: float = Field(default=10.0, gt=0, le=120, description="timeout of one HTTP request to the Zaken API")
    zgw_verzoek_pogingen: int = Field(default=3, ge=1, le=10,
                                      description="attempts of one call within a run (connect error, timeout, 5xx)")
    zgw_max_pogingen: int = Field(default=20, ge=1, le=1000,
                                  description="runs an outbox row is tried before it is 'mislukt' for a person")
    zgw_retry_start_s: int = Field(default=60, ge=1, description="first outbox retry delay in seconds (doubles)")
    zgw_retry_max_s: int = Field(default=3600, ge=1, description="longest outbox retry delay in seconds")
    schema_zgw: str = Field(default="*/10 * * * *", description="cron: ZGW registration (every 10 minutes)")

    @field_validator("zgw_zaken_url")
    @classmethod
    def _zgw_url(cls, v: str | None) -> str | None:
        if not v:
            return None
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL, e.g. https://openzaak.example.nl/zaken/api/v1")
        return v.rstrip("/")

    @field_validator("zgw_client_id", "zgw_secret")
    @classmethod
    def _zgw_required(cls, v, info: ValidationInfo):
        if info.data.get("zgw_zaken_url") and not (v.get_secret_value() if isinstance(v, SecretStr) else v):
            raise ValueError("required when TRAJECTEN_ZGW_ZAKEN_URL is set")
        return v

    @field_validator("zgw_rsin")
    @classmethod
    def _rsin(cls, v: str, info: ValidationInfo) -> str:
        if not v and info.data.get("zgw_zaken_url"):
            raise ValueError("required when TRAJECTEN_ZGW_ZAKEN_URL is set")
        # RSIN: 9 digits and the 11-test (as Open Zaak checks bronorganisatie)
        if v and not elfproef(v):
            raise ValueError("not a valid RSIN (9 digits passing the 11-test)")
        return v

    @field_validator("zgw_zaaktypen")
    @classmethod
    def _zaaktypen(cls, v: str, info: ValidationInfo) -> str:
        if not info.data.get("zgw_zaken_url"):
            return v  # ZGW off: the file is not read
        _check_zaaktypen(Path(v))
        return v

    @field_validator("schema_signalen", "schema_feed", "schema_export", "schema_rapportage", "schema_zgw",
                     "schema_meldingen", "schema_anonimiseer", "schema_kansen_in_kaart")
    @classmethod
    def _cron(cls, v: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(v)
        except ValueError as exc:
            raise ValueError(f"not a crontab expression ({exc})") from None
        return v

    sessie_sleutel: SecretStr | None = Field(
        default=None, description="key that signs session cookies (random per start if unset: everyone logs in again)")
    cookie_secure: bool = Field(default=False, description="send session cookies over HTTPS only (set true behind TLS)")

    # Logboek Dataverwerkingen and retention (P6, trajecten/privacy/logboek.py, trajecten/privacy/anonimiseren.py, docs/logboek.md)
    logboek_sleutel: SecretStr = Field(
        default=SecretStr(LOGBOEK_DEV_SLEUTEL), min_length=16,
        description="secret key of the HMAC-SHA256 that pseudonymises the BSN in the processing log "
                    "(keep it; a new key makes older records unfindable for an access request). The default "
                    "is for development only: with TRAJECTEN_OMGEVING=productie nothing starts with it, otherwise "
                    "every process warns once")
    bewaartermijn_maanden: int | None = Field(
        default=None, ge=1, le=1200,
        description="months after a client's last trajectory ended before their personal data is anonymised; "
                    "empty: per processing activity (trajecten/privacy/data/verwerkingsactiviteiten.yaml)")
    schema_anonimiseer: str = Field(default="15 2 * * *",
                                    description="cron: anonymise clients past the retention period (daily)")

    @field_validator("sepa_debiteur_iban")
    @classmethod
    def _iban(cls, v: str) -> str:
        from trajecten.basis.bsn import valideer_iban  # the same check as a client's IBAN

        return valideer_iban(v)

    @field_validator("sepa_debiteur_bic")
    @classmethod
    def _bic(cls, v: str) -> str:
        from schwifty import BIC
        from schwifty.exceptions import SchwiftyException

        try:
            return str(BIC(v).compact)
        except SchwiftyException as exc:
            raise ValueError(f"not a valid BIC ({exc})") from None

    @field_validator("nu")
    @classmethod
    def _nu(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            from zoneinfo import ZoneInfo

            v = v.replace(tzinfo=ZoneInfo("Europe/Amsterdam"))
        return v

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

    # ---- folders: where the jobs read feed files and write payment files and reports

    def pad(self, map_: str | Path) -> Path:
        """A folder named in the settings or a job's parameter: an absolute path as given, a relative one
        inside TRAJECTEN_GEDEELDE_MAP when that is set (else relative to the working directory)."""
        p = Path(map_).expanduser()
        if p.is_absolute() or not self.gedeelde_map:
            return p
        return Path(self.gedeelde_map).expanduser() / p

    @property
    def feed_map(self) -> Path | None:
        """Where UWV feed files arrive; None: no folder import."""
        return self.pad(self.uwv_feed_map) if self.uwv_feed_map else None

    @property
    def betalingen_map(self) -> Path:
        """Where the payout export writes its pain.001 files."""
        return self.pad(self.export_map) / "betalingen"

    @property
    def rapportage_map(self) -> Path:
        """Where the monthly report writes its figures and report."""
        return self.pad(self.export_map) / "rapportage"


def _check_zaaktypen(path: Path) -> None:
    """The ZGW mapping file: per instrument ``zaaktype`` (URL), ``statustypen`` (gepland, actief, afgerond:
    URL) and ``resultaattypen`` (outcome or ``"*"``: URL); ``omschrijving`` optional."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read {path} ({exc})") from None
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{path}: must map each instrument to its zaaktype")

    def url(where: str, value) -> None:
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            raise ValueError(f"{path}: {where} must be an http(s) URL, got {value!r}")

    for instrument, spec in data.items():
        if not isinstance(spec, dict):
            raise ValueError(f"{path}: {instrument} must be a mapping")
        url(f"{instrument}.zaaktype", spec.get("zaaktype"))
        statustypen = spec.get("statustypen") or {}
        for fase in ("gepland", "actief", "afgerond"):
            url(f"{instrument}.statustypen.{fase}", statustypen.get(fase))
        resultaattypen = spec.get("resultaattypen") or {}
        if not isinstance(resultaattypen, dict) or not resultaattypen:
            raise ValueError(f"{path}: {instrument}.resultaattypen must map outcomes to resultaattype URLs")
        for uitkomst, value in resultaattypen.items():
            url(f"{instrument}.resultaattypen.{uitkomst}", value)
        if len(str(spec.get("omschrijving", ""))) > 60:
            raise ValueError(f"{path}: {instrument}.omschrijving is longer than 60 characters")


def load_settings(**overrides) -> Settings:
    """The settings from the environment (plus ``overrides``), checked: every entry point (CLI, web, flows,
    the embedded scheduler, ``Engine.open``) reads them here. In production a development default is refused
    (:func:`trajecten.basis.omgeving.controleer`), elsewhere a development secret is warned about once."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        msgs = []
        for err in exc.errors():
            name = "TRAJECTEN_" + str(err["loc"][0]).upper() if err["loc"] else "settings"
            msgs.append(f"{name}: {err['msg']}")
        raise SettingsError("; ".join(msgs)) from None
    controleer(settings)
    return settings


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings()


def settings_doc() -> str:
    """Markdown table of every setting: environment variable, default and meaning (docs/instellingen.md)."""
    lines = ["# Instellingen (settings)", "",
             "Every setting is an environment variable with the prefix `TRAJECTEN_`, read once at start by",
             "`trajecten/basis/config.py`; a wrong value stops the start with a message naming the variable.",
             "Generated by `trajecten instellingen --markdown > docs/instellingen.md`.", "",
             "| variable | default | meaning |", "|---|---|---|"]
    for name, f in Settings.model_fields.items():
        default = f.default
        if hasattr(default, "get_secret_value"):
            default = "(secret)"
        root = str(Path(__file__).resolve().parents[2]) + "/"
        if isinstance(default, (str, Path)) and str(default).startswith(root):  # the same doc for every checkout
            default = str(default)[len(root):]
        shown = "" if default is None else f"`{default}`"
        lines.append(f"| `TRAJECTEN_{name.upper()}` | {shown} | {(f.description or '').replace('|', '/')} |")
    return "\n".join(lines) + "\n"
