"""Which infrastructure to connect to, when it is given from outside.

The variables are read through ``libs.settings.PlatformSettings``: `make run` and the integration
tests use this to decide between externally provided servers and an embedded/containerised stack.
"""

from __future__ import annotations

from devstack.embedded import Endpoints
from libs.settings import PlatformSettings

__all__ = ["KAFKA_ENV", "MONGO_ENV", "IncompleteExternalStackError", "external_endpoints"]

KAFKA_ENV = "KAFKA_BOOTSTRAP_SERVERS"
MONGO_ENV = "MONGODB_URI"


class IncompleteExternalStackError(RuntimeError):
    """Only one of KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI is set."""


def external_endpoints() -> Endpoints | None:
    """Endpoints from ``KAFKA_BOOTSTRAP_SERVERS`` + ``MONGODB_URI``; None when neither is set.

    Raises :class:`IncompleteExternalStackError` when only one of them is set (blank counts as unset).
    """
    platform = PlatformSettings()
    kafka = (platform.kafka_bootstrap_servers or "").strip()
    mongo = (platform.mongodb_uri or "").strip()
    if kafka and mongo:
        return Endpoints(
            kafka_bootstrap=kafka,
            mongodb_uri=mongo,
            idempotent_producer=platform.kafka_idempotent_producer,
        )
    if not kafka and not mongo:
        return None
    missing, present = (KAFKA_ENV, MONGO_ENV) if not kafka else (MONGO_ENV, KAFKA_ENV)
    raise IncompleteExternalStackError(
        f"{present} is set but {missing} is not: set both to use external servers, "
        "or neither to use an embedded/containerised stack"
    )
