"""One typed settings object, read from ``FELLESJOURNAL_*`` environment variables.

Nothing reads the environment elsewhere: :func:`create_app` and the CLI take a
:class:`Settings` and pass it down, so tests can build many apps side by side.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field
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
