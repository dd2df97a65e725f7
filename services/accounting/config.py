from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from libs.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the accounting service; every variable is `ACCOUNTING_<FIELD>` (connection
    settings also unprefixed)."""

    model_config = SettingsConfigDict(env_prefix="ACCOUNTING_", extra="ignore")

    service_name: str = "accounting"
    database: str = "asi_accounting"
    signing_key: str | None = Field(
        default=None,
        description="Ed25519 seed (base64url, 32 bytes) that signs CoC Documents; unset: generated "
        "once and kept "
        "in the service database.",
    )
    period_close_batch: int = Field(
        default=200, ge=1, description="Accounts whose period the clock closes per tick."
    )
