"""The boundaries written in pyproject.toml ([tool.importlinter]): services are independent of each
other and share only `contracts` and `libs`; `libs` never reaches into a service; `contracts`
depends on nothing of ours."""

from __future__ import annotations

import ast
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "accounting", "claims", "certificates", "gateway")


def test_import_linter_contracts_hold():
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml")) == 0


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_service_imports_another_and_domains_do_no_io():
    for service in SERVICES:
        for path in (ROOT / "services" / service).rglob("*.py"):
            imported = _imports(path)
            others = {i for i in imported for o in SERVICES if o != service and i.startswith(f"services.{o}")}
            assert not others, f"{path} imports {others}"
            if "domain" in path.relative_to(ROOT / "services" / service).parts:
                io = {i for i in imported if i.split(".")[0] in {"pymongo", "aiokafka", "faststream", "libs", "asyncio"}}
                assert not io, f"pure domain {path} imports {io}"
