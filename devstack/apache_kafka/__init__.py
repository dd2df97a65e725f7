"""Apache Kafka itself, from Maven Central, as a single-node KRaft broker for `make run`, the tests and
the benchmark (`KAFKA=apache`; the default broker stays tansu, which needs nothing but Python).

* The jars: ``infra/kafka/pom.xml`` pins ``org.apache.kafka:kafka_2.13``; :func:`ensure_jars` runs
  ``mvn -q dependency:copy-dependencies`` on it once into ``.cache/kafka/<version>/lib`` (git-ignored;
  Maven's own ``~/.m2`` keeps the downloads too) and reuses that folder afterwards.
* The broker: :func:`broker_command` writes a ``server.properties`` for tests into a data directory,
  formats it as a KRaft single-node log directory (``kafka.tools.StorageTool format``) the first time,
  and returns the ``java ... kafka.Kafka server.properties`` command line. ``devstack.embedded.EmbeddedStack``
  runs it as its Kafka child (dies with the parent, logs to ``kafka.log``), on a free port.
* Needs Java 17+ (``java`` on PATH or ``JAVA_HOME``) and, until the jars are cached, Maven:
  :class:`ApacheKafkaUnavailable` names what to install when one is missing.

The settings are those of a test broker, not a production one: one node, replication factor 1 and
min ISR 1 for every internal topic (consumer offsets, transaction state, share-group state), no
initial rebalance delay, group session timeouts down to 0.5 s (the tests use 2 s), topics created
explicitly (``auto.create.topics.enable=false``, as ``infra/docker-compose.yml``), a 512 MiB heap and
the serial collector (the machines have two cores shared by everything).

CLI::

    python -m devstack.apache_kafka --fetch     # download the jars only (CI does this first)
    python -m devstack.apache_kafka [--port P]  # run a broker until Ctrl-C (prints the bootstrap)
"""

# The parts (import the names from the package): install.py finds Java and fetches the jars,
# broker.py writes the broker's settings and command line and waits for its group coordinators,
# cli.py is `python -m devstack.apache_kafka` (its --help is the docstring above).

from __future__ import annotations

from devstack.apache_kafka.broker import (
    JVM_OPTIONS,
    START_TIMEOUT_S,
    TEST_SETTINGS,
    broker_command,
    server_properties,
)
from devstack.apache_kafka.broker import _cluster_id as _cluster_id
from devstack.apache_kafka.broker import _java_string_hash as _java_string_hash
from devstack.apache_kafka.broker import group_coordinators_ready as group_coordinators_ready
from devstack.apache_kafka.cli import main as main
from devstack.apache_kafka.install import CACHE_DIR as CACHE_DIR
from devstack.apache_kafka.install import (
    MIN_JAVA,
    ApacheKafkaUnavailable,
    ensure_jars,
    find_java,
    kafka_version,
)
from devstack.apache_kafka.install import POM as POM
from devstack.apache_kafka.install import REPO_ROOT as REPO_ROOT
from devstack.apache_kafka.install import _java_major as _java_major

__all__ = [
    "JVM_OPTIONS",
    "MIN_JAVA",
    "START_TIMEOUT_S",
    "TEST_SETTINGS",
    "ApacheKafkaUnavailable",
    "broker_command",
    "ensure_jars",
    "find_java",
    "kafka_version",
    "server_properties",
]
