"""Mutation testing of every service's domain (issue 24): `make mutation [SERVICE=claims]`.

For each service, one at a time and from a fresh `mutants/` copy, mutmut (configured under
`[tool.mutmut]` in pyproject.toml) mutates `services/<service>/domain/*.py` and runs only that
service's unit tests (`tests/unit/<service>/`) against each mutant, with two workers (`--workers`,
`make mutation WORKERS=1`). Then this
prints a table per module (mutants run, killed, score = killed / run) and writes the survivors, each
with its diff, to `.mutation/<service>.md`, for the service README's "Mutation testing" section.

Killed counts mutants a test failed on, timed out on or the type checker caught; "run" is every
mutant but those mutmut skipped, so a mutant no unit test reaches counts against the score.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SERVICES = ("certificates", "claims", "intake", "gateway", "accounting")
ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
KILLED = {"killed", "timeout", "caught by type check"}
NOT_RUN = {"skipped", "not checked", "check was interrupted by user"}


@dataclass(frozen=True)
class ModuleScore:
    module: str
    run: int
    killed: int
    survivors: tuple[str, ...]
    not_checked: int = 0

    @property
    def score(self) -> float:
        return self.killed / self.run if self.run else 1.0


def _run_one(service: str, modules: list[str], workers: int = WORKERS) -> None:
    """The child process: mutmut narrowed to one service's domain (or some of its modules) and its
    unit tests."""
    # The editable install maps `services` to the work tree through a meta-path finder, which would
    # win over mutmut's `mutants/` on sys.path: the tests would import the original code.
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in type(f).__module__]
    # tests/conftest.py: the same examples for every mutant, example tests before property tests.
    os.environ.setdefault("ASI_MUTATION", "1")
    from mutmut import __main__ as mutmut_main
    from mutmut import configuration

    cfg = configuration.config()
    cfg.only_mutate = [f"services/{service}/domain/{m}.py" for m in modules or ["*"]]
    cfg.pytest_add_cli_args_test_selection = [f"tests/unit/{service}"]
    mutmut_main.cli(["run", "--max-children", str(workers)])


def _scores(service: str) -> list[ModuleScore]:
    from mutmut.stats import status_by_exit_code

    scores = []
    for meta in sorted((ROOT / "mutants" / "services" / service / "domain").glob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        statuses = {name: status_by_exit_code[code] for name, code in codes.items()}
        run = [n for n, s in statuses.items() if s not in NOT_RUN]
        killed = [n for n in run if statuses[n] in KILLED]
        survivors = tuple(sorted(n for n in run if statuses[n] not in KILLED))
        module = str(meta.relative_to(ROOT / "mutants")).removesuffix(".meta")
        unchecked = sum(1 for s in statuses.values() if s == "not checked")
        scores.append(ModuleScore(module, len(run), len(killed), survivors, unchecked))
    return [s for s in scores if s.run or s.not_checked]


def _table(scores: list[ModuleScore]) -> str:
    lines = ["| module | mutants run | killed | score |", "| --- | ---: | ---: | ---: |"]
    for s in scores:
        score = f"{s.score:.0%}" if s.run else "-"
        lines.append(f"| `{s.module}` | {s.run:,} | {s.killed:,} | {score} |")
    run = sum(s.run for s in scores)
    killed = sum(s.killed for s in scores)
    if scores:
        lines.append(f"| **all** | {run:,} | {killed:,} | {killed / run if run else 1:.0%} |")
    unchecked = sum(s.not_checked for s in scores)
    if unchecked:
        lines.append(f"\nPartial: {unchecked:,} mutants not checked (the run was stopped).")
    return "\n".join(lines)


def _survivor_report(
    service: str, scores: list[ModuleScore], table: str, seconds: float, workers: int = WORKERS
) -> Path:
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    out = ROOT / ".mutation" / f"{service}.md"
    out.parent.mkdir(exist_ok=True)
    parts = [f"# Mutation testing: {service} ({seconds:.0f} s, {workers} workers)", "", table, ""]
    for s in scores:
        for name in s.survivors:
            try:
                diff = get_diff_for_mutant(name, path=s.module)
            except Exception as error:  # a report line, never a reason to lose the table
                diff = f"(no diff: {error})"
            parts += [f"## {name}", "```diff", diff, "```", ""]
    out.write_text("\n".join(parts))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("services", nargs="*", help=f"any of {', '.join(SERVICES)} (default: all)")
    parser.add_argument(
        "--module",
        action="append",
        default=[],
        help="only this module of the domain (e.g. freezing for domain/freezing.py); repeatable, one "
        "service only: the quick loop while writing tests against a module's survivors",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=WORKERS,
        help=f"mutants tested at once (default {WORKERS}); 1 on a machine shared with other work",
    )
    parser.add_argument(
        "--examples",
        type=int,
        default=0,
        help="property tests draw at most this many examples per mutant (default: their own counts); "
        "their pinned @examples all still run",
    )
    parser.add_argument("--run-one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.module and not args.run_one and len(args.services) != 1:
        parser.error("--module needs exactly one service")
    unknown = set(args.services) - set(SERVICES)
    if unknown:
        parser.error(f"unknown service(s): {', '.join(sorted(unknown))}")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.examples < 0:
        parser.error("--examples must be 0 (their own counts) or more")
    if args.examples:
        os.environ["ASI_MUTATION_EXAMPLES"] = str(args.examples)  # tests/conftest.py, in the child
    if args.run_one:
        _run_one(args.run_one, args.module, args.workers)
        return 0
    failed = []
    for service in args.services or SERVICES:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
        print(
            f"== mutation testing: services/{service}/domain with tests/unit/{service}", flush=True
        )
        started = time.monotonic()
        child = [sys.executable, "-m", "devstack.mutation", "--run-one", service]
        child += [f"--module={m}" for m in args.module] + [f"--workers={args.workers}"]
        code = subprocess.run(child, cwd=ROOT, check=False).returncode
        seconds = time.monotonic() - started
        scores = _scores(service)
        table = _table(scores)
        report = _survivor_report(service, scores, table, seconds, args.workers)
        print(f"\n{service}: {seconds:.0f} s (mutmut exit {code}); survivors: {report}\n{table}\n")
        if code != 0 or not scores:
            failed.append(service)
    if failed:
        print(f"mutation testing did not finish for: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
