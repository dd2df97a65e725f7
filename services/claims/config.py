from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from libs.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the claims service; every variable is `CLAIMS_<FIELD>` (connection settings also
    unprefixed)."""

    model_config = SettingsConfigDict(env_prefix="CLAIMS_", extra="ignore")

    service_name: str = "claims"
    database: str = "asi_claims"
    allocation_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="How long a claim waits for accounting's allocation before it is rejected.",
    )
    wording_rules_version: str | None = Field(
        default=None, description="Version of the wording rules to apply (unset: the current one)."
    )
    tick_batch_limit: int = Field(
        default=500, ge=1, description="Claims the clock tick handles per transaction."
    )
