"""The bulk loader's settings."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from libs.settings import RunFileSource, cli_settings


class BulkSettings(BaseSettings):
    """Settings of the bulk loader: `BULK_<FIELD>`, or the platform's unprefixed
    `KAFKA_BOOTSTRAP_SERVERS`, or (`from_platform`) the broker of the platform `make run`
    started."""

    model_config = SettingsConfigDict(env_prefix="BULK_", extra="ignore")

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices(
            "BULK_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers"
        ),
        description="Kafka bootstrap servers.",
    )
    wait_timeout_s: float = Field(
        default=300.0, gt=0, description="How long --wait waits for intake's answers."
    )
    send_window: int = Field(
        default=2000, ge=1, description="Messages in flight before waiting for acknowledgements."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            RunFileSource(settings_cls),
            dotenv_settings,
            file_secret_settings,
        )

    @classmethod
    def from_platform(cls, **values: Any) -> BulkSettings:
        """Arguments, the environment, then the running platform's run file; none:
        `NoPlatformRunning`."""
        settings: BulkSettings = cli_settings(cls, ("kafka_bootstrap_servers",), **values)
        return settings
