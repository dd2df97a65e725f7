"""One Settings base for every service: `<PREFIX>_FIELD` per service, with the connection
settings also read unprefixed (`KAFKA_BOOTSTRAP_SERVERS`, `MONGODB_URI`) so one pair of variables
points the whole platform at real Kafka and MongoDB, and likewise the tracing export
(`TRACING_EXPORTER`, `TRACING_OTLP_ENDPOINT`). Nothing else in the project reads the environment.

Command-line tools build their service's Settings with `Settings.for_cli()`: after the arguments and
the environment, the connection settings come from the platform `make run` started (its run file,
`libs.runfile`), and with neither they stop with "no platform is running" instead of trying defaults."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import Field
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from libs import runfile

SHARED_VARIABLES = ("kafka_bootstrap_servers", "mongodb_uri", "kafka_idempotent_producer", "tracing_exporter",
                    "tracing_otlp_endpoint")
_FOR_CLI: ContextVar[bool] = ContextVar("settings_for_cli", default=False)
_RUN_FILE_PROBLEM: ContextVar[runfile.NoPlatformRunning | None] = ContextVar("run_file_problem", default=None)


class _SharedEnv(EnvSettingsSource):
    """Unprefixed fallback for the connection settings every service shares."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        if field_name not in SHARED_VARIABLES:
            return None, field_name, False
        value = self.env_vars.get(field_name)
        return value, field_name, False

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls, env_prefix="", case_sensitive=False)


class RunFileSource(PydanticBaseSettingsSource):
    """The running platform's addresses, for command-line tools only (below the environment)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if not _FOR_CLI.get():
            return {}
        try:
            record = runfile.read(PlatformSettings().asi_data_dir)
        except runfile.NoPlatformRunning as problem:  # said only if nothing else gives the addresses
            _RUN_FILE_PROBLEM.set(problem)
            return {}
        if record is None:
            return {}
        values = {"kafka_bootstrap_servers": record.kafka_bootstrap_servers, "mongodb_uri": record.mongodb_uri}
        return {k: v for k, v in values.items() if k in self.settings_cls.model_fields}


def cli_settings(cls: type[BaseSettings], required: tuple[str, ...], **values: Any) -> Any:
    """`cls(**values)` with the run file as a source; `required` connection fields must come from
    somewhere (arguments, environment or run file), else :class:`runfile.NoPlatformRunning`."""
    token, problem = _FOR_CLI.set(True), _RUN_FILE_PROBLEM.set(None)
    try:
        settings = cls(**values)
        stale = _RUN_FILE_PROBLEM.get()
    finally:
        _FOR_CLI.reset(token)
        _RUN_FILE_PROBLEM.reset(problem)
    missing = [name for name in required if name not in settings.model_fields_set]
    if missing and stale is not None:
        raise stale
    if missing:
        raise runfile.NoPlatformRunning(f"no platform is running: {runfile.START_HINT} "
                                        f"(or set {' and '.join(name.upper() for name in missing)})")
    return settings


class PlatformSettings(BaseSettings):
    """Where the platform's broker and database are; unset means: start the embedded ones."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    kafka_bootstrap_servers: str | None = Field(default=None, description="Real Kafka to use instead of embedded.")
    mongodb_uri: str | None = Field(default=None, description="Real MongoDB to use instead of embedded.")
    kafka_idempotent_producer: bool = Field(default=False, description="The real Kafka has the idempotent producer (Apache Kafka does): the services use it.")
    asi_data_dir: str = Field(default=".run", description="Where the embedded stack keeps its files and logs.")
    kafka: Literal["tansu", "apache"] = Field(
        default="tansu",
        description="Which broker the embedded stack starts: tansu (Python-only) or Apache Kafka from Maven (devstack).",
    )


class ServiceSettings(BaseSettings):
    """Base of every service's settings. Subclasses set `env_prefix` and `service_name`."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    service_name: str = Field(description="Service name; also the consumer group and the actor of its messages.")
    kafka_bootstrap_servers: str = Field(default="127.0.0.1:9092", description="Kafka bootstrap servers.")
    mongodb_uri: str = Field(default="mongodb://127.0.0.1:27017/?directConnection=true", description="MongoDB URI.")
    database: str = Field(description="This service's own database name.")
    consumer_group: str | None = Field(default=None, description="Kafka consumer group (default: service name).")
    kafka_idempotent_producer: bool = Field(default=False, description="Idempotent producer: the broker drops a batch that a producer retried after a lost ack, and keeps each partition's order across retries. Real Apache Kafka only (the embedded tansu broker has none); also read unprefixed, KAFKA_IDEMPOTENT_PRODUCER.")
    kafka_session_timeout_ms: int = Field(default=10_000, ge=1000, description="Consumer session timeout (a join waits about half of it on the embedded broker).")
    kafka_heartbeat_interval_ms: int = Field(default=3_000, ge=100, description="Consumer heartbeat interval.")
    kafka_fetch_max_wait_ms: int = Field(default=50, ge=1, description="Longest a fetch waits for data (the embedded broker always waits this long when idle).")
    kafka_fetch_min_bytes: int = Field(default=1, ge=1, description="Bytes a fetch waits for (up to fetch_max_wait_ms) before the broker answers: on real Kafka, larger means bigger batches at moderate rates (fewer transactions per event) for at most fetch_max_wait_ms more latency. Left at 1 on the embedded broker, which spends CPU while it holds a fetch.")
    batch_max_records: int = Field(default=500, ge=1, le=10_000, description="Messages per batch/transaction.")
    batch_timeout_ms: int = Field(default=20, ge=1, description="Longest wait to fill a batch.")
    relay_interval_s: float = Field(default=2.0, gt=0, description="How often orphaned outbox entries are swept.")
    relay_orphan_after_s: float = Field(default=5.0, gt=0, description="Age after which another instance's outbox entries are relayed.")
    handover_timeout_s: float = Field(default=5.0, gt=0, description="Longest a rebalance or a stop waits for the batch in hand and the outbox's drain before the partitions move on (at most half the session timeout is used).")
    tick_interval_s: float = Field(default=2.0, gt=0, description="How often clock-driven work (expiry, timeouts) runs.")
    not_ready_after_dead_letter_s: float = Field(
        default=300.0, ge=0, description="/ready answers not-ready for this long after a message went to a "
        "dead-letter topic (0: never), with the count, so an operator sees a service that drops messages.")
    health_port: int | None = Field(default=None, description="Port for /health and /ready (unset: no endpoint).")
    log_level: str = Field(default="INFO", description="Log level.")
    log_format: Literal["auto", "json", "console"] = Field(default="auto", description="JSON off a terminal.")
    clock_start: datetime | None = Field(default=None, description="Run the service clock from this instant (tests, demos).")
    tracing_exporter: Literal["none", "console", "otlp"] = Field(default="none", description="Where OpenTelemetry spans go: nowhere (the traceparent headers are still propagated), the console (stdout), or OTLP over HTTP.")
    tracing_otlp_endpoint: str | None = Field(default=None, description="OTLP/HTTP traces endpoint (e.g. http://127.0.0.1:4318/v1/traces); unset: the exporter's default.")

    @property
    def group_id(self) -> str:
        return self.consumer_group or self.service_name

    @classmethod
    def for_cli(cls, **values: Any) -> Self:
        """Settings of a command-line tool: arguments, the environment, then the running platform's run
        file; raises `libs.runfile.NoPlatformRunning` when none of them says where the database is."""
        return cli_settings(cls, ("mongodb_uri",), **values)  # type: ignore[no-any-return]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _SharedEnv(settings_cls), RunFileSource(settings_cls), dotenv_settings,
                file_secret_settings)
