"""One typed settings object, read from ``FELLESJOURNAL_*`` environment variables.

Nothing reads the environment elsewhere: :func:`create_app` and the CLI take a
:class:`Settings` and pass it down, so tests can build many apps side by side.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from fellesjournal.access.relation_rules import RelationSettings


class Settings(BaseSettings):
    """Configuration of one Fellesjournal instance."""

    model_config = SettingsConfigDict(env_prefix="FELLESJOURNAL_", extra="ignore")

    database_url: str = "sqlite:///var/fellesjournal.db"
    """``sqlite:///path`` (embedded, default) or ``postgresql://user@host:port/db``."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    base_url: str = ""
    """Public base URL (``http://host:port``); derived from host and port when empty."""

    secret_key: str = "dev-only-change-me"
    """Signs UI sessions and CSRF tokens; set a long random value in production."""

    data_dir: Path = Path("var")
    """Where the built-in token issuer keeps its signing key."""

    issuer_enabled: bool = True
    """Run the built-in token issuer (demo and tests). Off in production (HelseID/ID-porten)."""

    oidc_issuer: str = ""
    """The OpenID Connect issuer the workspace signs health workers in through: HelseID,
    ``https://helseid-sts.nhn.no`` (its test environment: ``https://helseid-sts.test.nhn.no``).
    Set, it answers ``/signin`` in place of the built-in issuer (``web/helseid.py``); it
    must use https (plain http only on loopback, for tests)."""
    oidc_client_id: str = ""
    """The workspace's client id at that issuer (from HelseID Selvbetjening)."""
    oidc_client_key_file: Path | None = None
    """The client's private key (PEM, or a JWK as HelseID Selvbetjening hands it out):
    signs the ``private_key_jwt`` client assertions HelseID requires."""
    oidc_scopes: str = (
        "openid profile helseid://scopes/identity/security_level helseid://scopes/hpr/hpr_number"
    )
    """Scopes asked for at sign-in: the HPR-nummer and the security level are required."""
    oidc_min_security_level: int = Field(default=4, ge=1, le=4)
    """Lowest ``helseid://claims/identity/security_level`` accepted (4, high: BankID,
    Buypass, Commfides; what NHN's own services with patient data ask of health workers)."""

    trusted_issuers: str = ""
    """Extra OIDC issuers, ``issuer=jwks_url`` pairs separated by spaces."""

    token_audience: str = "fellesjournal"

    max_body_bytes: int = 64 * 1024 * 1024
    """Largest accepted request body; the largest Synthea bundle is 11.3 MB."""

    default_page_size: int = Field(default=50, ge=1)
    max_page_size: int = Field(default=1000, ge=1)

    allow_test_identities: bool = False
    """Accept synthetic test fødselsnummer (Tenor, NAV/Dolly); the demo turns this on."""

    db_pool_size: int = 8

    encounter_days: int = Field(default=30, ge=0)
    """A finished Encounter still gives its unit access this many days after it ended."""
    appointment_days: int = Field(default=30, ge=0)
    """An Appointment gives access this many days before and after its start."""
    break_glass_hours: float = Field(default=4.0, gt=0, le=24)
    """How long a break-the-glass grant lasts."""
    web_idle_minutes: int = Field(default=30, ge=1, le=720)
    """The workspace signs a user out after this long without a request."""
    audit_batch_ms: int = Field(default=10, ge=1, le=1000)
    """The audit sink commits reads' events every this many milliseconds: the most a
    crashed worker process can lose of its reads' records (docs/access.md)."""

    worker_interval_s: float = Field(default=2.0, ge=0)
    """How often the server's background worker delivers the outbox and escalates
    overdue work items (``workflows/worker.py``); 0 turns the worker off (tests, or a
    separate ``fellesjournal outbox run``)."""
    outbox_batch: int = Field(default=200, ge=1, le=10_000)
    """Messages the delivery worker takes per round."""
    outbox_timeout_s: float = Field(default=10.0, gt=0)
    """How long one HTTP delivery may take before it counts as failed (and is retried)."""
    outbox_receipt_timeout_s: float = Field(default=3600.0, gt=0)
    """How long a sent message waits for its application receipt before it is sent again."""
    outbox_retry_base_s: float = Field(default=30.0, ge=0)
    """The first retry's delay; each further retry waits twice as long (at most an hour)."""
    outbox_max_attempts: int = Field(default=6, ge=1)
    """Delivery attempts before a message is failed (and the failure is a work item)."""
    result_error_queue_unit: str = "stolav-akuttmottak"
    """The unit (``Organization`` id) whose queue is the region's error queue for results
    that match no patient or order (``workflows/results.py``; domain.md §2 P2). It must
    be a member unit with staff, or ``fellesjournal queues check`` names every item in it.
    The default is St. Olavs' emergency department: staffed around the clock with doctors
    who can judge an unmatched result's urgency, and the seeded region has no laboratory
    unit of its own; set the lab's or the trust's service desk unit where one exists."""

    @model_validator(mode="after")
    def _external_issuer_complete(self) -> Settings:
        if not self.oidc_issuer:
            return self
        url = urlsplit(self.oidc_issuer)
        loopback = url.hostname in ("127.0.0.1", "localhost", "::1")
        if url.scheme != "https" and not (url.scheme == "http" and loopback):
            raise ValueError("FELLESJOURNAL_OIDC_ISSUER must be an https URL")
        if not self.oidc_client_id or self.oidc_client_key_file is None:
            raise ValueError(
                "FELLESJOURNAL_OIDC_ISSUER needs FELLESJOURNAL_OIDC_CLIENT_ID and "
                "FELLESJOURNAL_OIDC_CLIENT_KEY_FILE"
            )
        if "openid" not in self.oidc_scopes.split():
            raise ValueError("FELLESJOURNAL_OIDC_SCOPES must include openid")
        return self

    @property
    def relation_settings(self) -> RelationSettings:
        """The care-relation windows (``access/relation_rules.py``) from these settings."""
        from fellesjournal.access.relation_rules import RelationSettings

        return RelationSettings(
            encounter_days=self.encounter_days,
            appointment_days_before=self.appointment_days,
            appointment_days_after=self.appointment_days,
        )

    @property
    def public_base_url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def fhir_base_url(self) -> str:
        return self.public_base_url + "/fhir"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
