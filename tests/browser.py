"""The browser behind the public-page tests: Debian's `chromium`, driven by Playwright from PyPI.

    python -m tests.browser ensure    # what `make test` runs first: installs chromium when it can

`ensure` finds chromium (ASI_CHROMIUM, PATH, /usr/bin/chromium); when it is missing and this process
is root with apt-get, it installs Debian's package. It never fails: a browser it could not install
is reported by the browser tests themselves, which skip (outside CI, when `make test` allows it with
ASI_ALLOW_NO_BROWSER=1, and the run's summary says so with the command that enables them) or fail
(in CI, CI=true, always; and when run directly without ASI_ALLOW_NO_BROWSER=1).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

PACKAGE = "chromium"
APT_INSTALL = ["apt-get", "install", "-y", "--no-install-recommends", PACKAGE]


def enable_command() -> str:
    """What the summary tells a person to run to enable the browser tests."""
    return "make browser" if os.name == "posix" and os.geteuid() == 0 else "sudo make browser"


#: Why the browser tests were skipped in this session (None: they were not), for the run's summary.
skipped_because: str | None = None


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def find_chromium() -> str | None:
    candidates = (
        os.environ.get("ASI_CHROMIUM"),
        shutil.which("chromium"),
        "/usr/bin/chromium",
        shutil.which("chromium-browser"),
    )
    return next((p for p in candidates if p and os.path.exists(p)), None)


def chromium_or_skip() -> str:
    """The chromium to drive; without one: fail in CI, else skip when allowed (ASI_ALLOW_NO_BROWSER=1), else fail."""
    global skipped_because
    found = find_chromium()
    if found:
        return found
    message = (
        "NO CHROMIUM FOUND: the public pages were NOT tested in a browser. "
        f"`{enable_command()}` installs Debian's chromium (or set ASI_CHROMIUM to a Chromium binary)."
    )
    if in_ci():
        pytest.fail(message + " CI never skips the browser tests.", pytrace=False)
    if os.environ.get("ASI_ALLOW_NO_BROWSER") == "1":
        skipped_because = message
        pytest.skip(message)
    pytest.fail(
        message + " Set ASI_ALLOW_NO_BROWSER=1 to skip these tests knowingly.", pytrace=False
    )


def summary_lines() -> list[str]:
    if skipped_because is None:
        return []
    return [
        "The browser tests (public pages in headless Chromium) were SKIPPED: no chromium on this machine.",
        f"Enable them with: {enable_command()}   (installs Debian's chromium; then run `make test` again)",
    ]


def ensure(*, run: object = subprocess.run) -> str | None:
    """Find chromium, installing Debian's package when missing and possible; the path, or None."""
    found = find_chromium()
    if found:
        print(f"browser tests: chromium at {found}", flush=True)
        return found
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("apt-get") is None:
        why = "not root" if os.name == "posix" and os.geteuid() != 0 else "no apt-get here"
        print(
            f"browser tests: no chromium and cannot install it ({why}); "
            f"they {'will FAIL (CI)' if in_ci() else 'will be skipped'}. `{enable_command()}` installs it.",
            flush=True,
        )
        return None
    print(
        "browser tests: no chromium; installing Debian's package (apt-get update; apt-get install chromium)",
        flush=True,
    )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], APT_INSTALL):
        result = run(command, env=env, stdin=subprocess.DEVNULL, check=False)  # type: ignore[operator]
        if result.returncode != 0:
            print(
                f"browser tests: `{' '.join(command)}` failed (exit {result.returncode}); they "
                f"{'will FAIL (CI)' if in_ci() else 'will be skipped'}.",
                flush=True,
            )
            return None
    found = find_chromium()
    print(
        f"browser tests: chromium installed at {found}"
        if found
        else "browser tests: apt-get installed chromium but it is not on PATH",
        flush=True,
    )
    return found


def main(argv: list[str]) -> int:
    if argv[:1] != ["ensure"]:
        print(__doc__, file=sys.stderr)
        return 2
    ensure()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
