from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from libs.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the claims service; every variable is `CLAIMS_<FIELD>` (connection settings also unprefixed)."""

    model_config = SettingsConfigDict(env_prefix="CLAIMS_", extra="ignore")

    service_name: str = "claims"
    database: str = "asi_claims"
