"""devstack.apache_kafka without starting a JVM: the pinned version, the test broker's settings, the
checks that name what to install, and the KAFKA switch of the embedded stack."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from devstack import apache_kafka
from devstack.apache_kafka import (
    ApacheKafkaUnavailable,
    _java_major,
    ensure_jars,
    find_java,
    kafka_version,
    server_properties,
)
from devstack.embedded import EmbeddedStack


def _properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_the_pinned_broker_is_apache_kafka_4():
    assert kafka_version().split(".")[0] == "4"


@pytest.mark.parametrize(("output", "major"), [
    ('openjdk version "17.0.15" 2025-04-15', 17),
    ('openjdk version "21" 2023-09-19', 21),
    ('java version "1.8.0_402"', 8),
    ("no version here", None),
])
def test_java_major_version_is_read_from_java_version(output, major):
    assert _java_major(output) == major


def test_the_test_broker_is_a_single_kraft_node_with_internal_topics_at_replication_factor_1(tmp_path):
    props = _properties(server_properties(tmp_path / "kraft", 19092, 19093))
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["log.dirs"] == str(tmp_path / "kraft")
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor",
                "transaction.state.log.min.isr", "min.insync.replicas", "default.replication.factor",
                "share.coordinator.state.topic.replication.factor", "share.coordinator.state.topic.min.isr"):
        assert props[key] == "1", key
    assert props["group.initial.rebalance.delay.ms"] == "0"
    # the tests' consumers use 2 s session timeouts, below the broker's default minimum of 6 s
    assert int(props["group.min.session.timeout.ms"]) <= 2000
    assert props["auto.create.topics.enable"] == "false"


def _fake_java(folder: Path, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    java = folder / "java"
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2020-01-01' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IXUSR)
    return java


def test_no_java_names_what_to_install(tmp_path):
    with pytest.raises(ApacheKafkaUnavailable, match=r"Java 17 or newer.*apt-get install openjdk-17"):
        find_java({"PATH": str(tmp_path)})


def test_an_old_java_names_what_to_install(tmp_path):
    _fake_java(tmp_path / "bin", "11.0.2")
    with pytest.raises(ApacheKafkaUnavailable, match=r"Java 17 or newer.*11\.0\.2.*openjdk-17"):
        find_java({"PATH": str(tmp_path / "bin")})


def test_java_home_is_preferred_to_path(tmp_path):
    _fake_java(tmp_path / "path", "11.0.2")
    home_java = _fake_java(tmp_path / "home" / "bin", "21.0.1")
    assert find_java({"PATH": str(tmp_path / "path"), "JAVA_HOME": str(tmp_path / "home")}) == str(home_java)


def test_no_maven_names_what_to_install_when_the_jars_are_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no mvn on it
    with pytest.raises(ApacheKafkaUnavailable, match=r"needs Maven.*apt-get install maven"):
        ensure_jars(tmp_path / "cache")


def test_cached_jars_are_used_without_maven(tmp_path, monkeypatch):
    lib = tmp_path / "cache" / kafka_version() / "lib"
    lib.mkdir(parents=True)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert ensure_jars(tmp_path / "cache") == lib


def test_a_failed_maven_run_leaves_no_half_filled_cache(tmp_path):
    mvn = tmp_path / "mvn"
    mvn.write_text("#!/bin/sh\necho 'Could not resolve dependencies' >&2\nexit 1\n")
    mvn.chmod(mvn.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(ApacheKafkaUnavailable, match="Could not resolve dependencies"):
        ensure_jars(tmp_path / "cache", mvn=str(mvn))
    assert not (tmp_path / "cache" / kafka_version()).exists()
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [".lock"]


def test_the_kafka_variable_chooses_the_embedded_broker(monkeypatch):
    monkeypatch.delenv("KAFKA", raising=False)
    assert EmbeddedStack().kafka == "tansu"
    monkeypatch.setenv("KAFKA", "apache")
    assert EmbeddedStack().kafka == "apache"
    assert EmbeddedStack(kafka="tansu").kafka == "tansu"
    with pytest.raises(ValueError, match="expected 'tansu' or 'apache'"):
        EmbeddedStack(kafka="redpanda")


def test_the_cache_lives_in_an_ignored_folder():
    ignored = (apache_kafka.REPO_ROOT / ".gitignore").read_text().split()
    assert os.path.relpath(apache_kafka.CACHE_DIR, apache_kafka.REPO_ROOT).split(os.sep)[0] + "/" in ignored


def test_a_broker_with_the_idempotent_producer_says_so_and_the_services_use_it(monkeypatch):
    """Apache Kafka has the idempotent producer, tansu has not: the embedded stack's endpoints say which,
    the launchers pass it on as <SERVICE>_KAFKA_IDEMPOTENT_PRODUCER (or KAFKA_IDEMPOTENT_PRODUCER for all),
    and the runtime's producer is built with it."""
    from libs import kafka, service
    from services.intake.config import Settings

    seen: list[dict[str, object]] = []
    real = kafka.make_broker

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(kwargs)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    captured: list[dict[str, object]] = []
    monkeypatch.setattr(kafka, "KafkaBroker", lambda *a, **k: captured.append(k) or object())
    kafka.make_broker("127.0.0.1:1", "x", idempotent=True)
    kafka.make_broker("127.0.0.1:1", "x")
    assert [k["enable_idempotence"] for k in captured] == [True, False]

    monkeypatch.setattr(service, "make_broker", spy)
    monkeypatch.setattr(service, "BrokerPublisher", lambda broker: None)
    monkeypatch.delenv("INTAKE_KAFKA_IDEMPOTENT_PRODUCER", raising=False)
    monkeypatch.delenv("KAFKA_IDEMPOTENT_PRODUCER", raising=False)
    service.Runtime.build(Settings())
    monkeypatch.setenv("KAFKA_IDEMPOTENT_PRODUCER", "true")
    service.Runtime.build(Settings())
    monkeypatch.setenv("INTAKE_KAFKA_IDEMPOTENT_PRODUCER", "false")
    service.Runtime.build(Settings())
    assert [k.get("idempotent") for k in seen] == [False, True, False]


@pytest.mark.parametrize(("text", "expected"), [("", 0), ("a", 97), ("hello", 99162322), ("devstack-warm-up-0", None)])
def test_group_placement_uses_java_string_hash(text, expected):
    from devstack.apache_kafka import _java_string_hash

    value = _java_string_hash(text)
    assert -(2**31) <= value < 2**31
    if expected is not None:
        assert value == expected
    assert _java_string_hash("polygenelubricants") == -2**31  # Java's famous Integer.MIN_VALUE hash


def test_a_cluster_id_never_starts_with_a_dash(monkeypatch):
    """The storage tool took an id starting with '-' for an option (the format failed for 1 id in 64)."""
    import uuid

    from devstack.apache_kafka import _cluster_id

    draws = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=b"\x01" + bytes(15))])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(draws))
    cluster_id = _cluster_id()
    assert cluster_id == "AQAAAAAAAAAAAAAAAAAAAA" and len(cluster_id) == 22
