from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from libs.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the certificates service; every variable is `CERTIFICATES_<FIELD>` (connection settings also unprefixed)."""

    model_config = SettingsConfigDict(env_prefix="CERTIFICATES_", extra="ignore")

    service_name: str = "certificates"
    database: str = "asi_certificates"
