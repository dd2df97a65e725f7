from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from libs.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the accounting service; every variable is `ACCOUNTING_<FIELD>` (connection settings also unprefixed)."""

    model_config = SettingsConfigDict(env_prefix="ACCOUNTING_", extra="ignore")

    service_name: str = "accounting"
    database: str = "asi_accounting"
