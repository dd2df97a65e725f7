"""Java and the jars: the ``java`` to run the broker with (17 or newer), and the pinned broker's jars,
fetched once with Maven from ``infra/kafka/pom.xml`` into ``.cache/kafka/<version>/lib``."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
POM = REPO_ROOT / "infra" / "kafka" / "pom.xml"
CACHE_DIR = REPO_ROOT / ".cache" / "kafka"
MIN_JAVA = 17


class ApacheKafkaUnavailable(RuntimeError):
    """Java 17+ or Maven is missing, or the jars could not be fetched; the message says what to do."""


def kafka_version(pom: Path = POM) -> str:
    """The Apache Kafka version pinned in ``infra/kafka/pom.xml``."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(pom).getroot().find("m:properties/m:kafka.version", ns)
    if node is None or not (node.text or "").strip():
        raise ApacheKafkaUnavailable(f"{pom} does not pin <kafka.version>")
    return (node.text or "").strip()


def _java_major(version_output: str) -> int | None:
    """17 from 'openjdk version "17.0.15" ...', 8 from 'java version "1.8.0_402"'."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def find_java(env: Mapping[str, str] | None = None) -> str:
    """The ``java`` to run the broker with (``$JAVA_HOME/bin/java``, else the one on PATH), checked to be
    Java 17 or newer. Raises :class:`ApacheKafkaUnavailable` naming what to install."""
    env = os.environ if env is None else env
    home = env.get("JAVA_HOME", "").strip()
    candidate = (
        str(Path(home) / "bin" / "java")
        if home and (Path(home) / "bin" / "java").exists()
        else None
    )
    java = candidate or shutil.which("java", path=env.get("PATH"))
    install = (
        f"install a Java {MIN_JAVA}+ runtime (Debian/Ubuntu: `apt-get install openjdk-17-jre-headless`) "
        "or point JAVA_HOME at one; or leave KAFKA unset to use the Python-only broker (tansu)"
    )
    if java is None:
        raise ApacheKafkaUnavailable(
            f"Apache Kafka needs Java {MIN_JAVA} or newer and found no `java`: {install}"
        )
    try:
        done = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ApacheKafkaUnavailable(f"could not run {java} -version ({exc}): {install}") from exc
    major = _java_major(done.stderr + done.stdout)
    if major is None or major < MIN_JAVA:
        found = (done.stderr or done.stdout).strip().splitlines()[:1]
        raise ApacheKafkaUnavailable(
            f"Apache Kafka needs Java {MIN_JAVA} or newer; {java} is {found[0] if found else 'unknown'}: {install}"
        )
    return java


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One process at a time fills the cache (two test runs starting together share it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_jars(cache_dir: Path = CACHE_DIR, pom: Path = POM, *, mvn: str | None = None) -> Path:
    """The folder of the pinned broker's jars, fetched with Maven the first time.

    The folder only appears once Maven has copied everything (fetched into a temporary folder, then
    renamed), so a half-finished download is never taken for a complete one."""
    version = kafka_version(pom)
    lib = cache_dir / version / "lib"
    if lib.is_dir():
        return lib
    with _locked(cache_dir / ".lock"):
        if lib.is_dir():
            return lib
        maven = mvn or shutil.which("mvn")
        if maven is None:
            raise ApacheKafkaUnavailable(
                f"Apache Kafka {version} is not in {cache_dir} yet and fetching it needs Maven: install Maven 3.6+ "
                "(Debian/Ubuntu: `apt-get install maven`), or leave KAFKA unset to use the Python-only broker (tansu)"
            )
        staging = Path(tempfile.mkdtemp(prefix=f"{version}-", dir=cache_dir))
        command = [
            maven,
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ]
        print(
            f"[devstack] fetching Apache Kafka {version} with Maven into {lib} (once)",
            file=sys.stderr,
            flush=True,
        )
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
                stdin=subprocess.DEVNULL,
            )
            jars = list(staging.glob("kafka_2.13-*.jar"))
            if done.returncode != 0 or not jars:
                raise ApacheKafkaUnavailable(
                    f"`{' '.join(command)}` failed (exit {done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}"
                )
            lib.parent.mkdir(parents=True, exist_ok=True)
            staging.rename(lib)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return lib
