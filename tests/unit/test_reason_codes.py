"""Every reason code a service sends is declared in its contract, and every declared code is sent.

Read from the source (the AST), so a code sent only on a rare path counts too: a code is *sent* when
the service names it (`CertificateReason.X`, or an alias such as `R.X`); a code written as a string
literal in a `Reason(code=...)` or `_reason(...)` call is undeclared by definition.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Codes:
    module: str
    name: str
    sources: tuple[str, ...]

    def declared(self) -> dict[str, str]:
        cls = getattr(importlib.import_module(self.module), self.name)
        return {k: v for k, v in vars(cls).items() if k.isupper()}


SERVICES = {
    "intake": Codes("contracts.intake", "IntakeReason", ("services/intake",)),
    "accounting": Codes("contracts.ledger", "LedgerReason", ("services/accounting",)),
    "claims": Codes("contracts.claims", "ClaimReason", ("services/claims",)),
    "certificates": Codes("contracts.certificates", "CertificateReason", ("services/certificates",)),
    "dead letters": Codes("contracts.deadletter", "DeadLetterReason", ("libs",)),
}

# Declared codes no service sends today, in services other engineers own: listed here (each one is
# checked to still be unsent, so the list cannot go stale) until their owners send or drop them.
KNOWN_UNSENT: dict[str, set[str]] = {
    "intake": {"SCHEMA_INVALID"},  # the runtime dead-letters unparseable plant events (DeadLetterReason)
    "accounting": {"ALLOCATION_CONFLICT"},  # no longer sent: allocations are per owner and claim id (issue 23)
    "claims": set(),
    "certificates": set(),
    "dead letters": set(),
}


def _files(codes: Codes) -> list[Path]:
    return sorted(p for source in codes.sources for p in (ROOT / source).rglob("*.py"))


def _aliases(tree: ast.Module, codes: Codes) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == codes.module:
            names |= {a.asname or a.name for a in node.names if a.name == codes.name}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id in names):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _literal_codes(tree: ast.Module) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        callee = _callee(node)
        if callee == "Reason":
            for kw in node.keywords:
                if kw.arg == "code" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    found.append((node.lineno, kw.value.value))
        elif callee == "_reason" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append((node.lineno, first.value))
    return found


def scan(codes: Codes) -> tuple[set[str], list[str], list[str]]:
    """(names sent, uses of undeclared names, literal codes), for one service."""
    declared = codes.declared()
    sent: set[str] = set()
    undeclared: list[str] = []
    literals: list[str] = []
    for path in _files(codes):
        tree = ast.parse(path.read_text(), str(path))
        where = path.relative_to(ROOT)
        aliases = _aliases(tree, codes)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                if node.attr in declared:
                    sent.add(node.attr)
                else:
                    undeclared.append(f"{where}:{node.lineno}: {codes.name}.{node.attr}")
        literals += [f"{where}:{line}: {code!r}" for line, code in _literal_codes(tree)]
    return sent, undeclared, literals


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_code_sent_is_declared_in_the_contract(service: str) -> None:
    _, undeclared, literals = scan(SERVICES[service])
    assert not undeclared, f"{service} names codes its contract does not declare: {undeclared}"
    assert not literals, f"{service} sends codes as bare strings (declare them in {SERVICES[service].name}): {literals}"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_declared_code_is_sent(service: str) -> None:
    codes = SERVICES[service]
    sent, _, _ = scan(codes)
    unsent = set(codes.declared()) - sent
    assert unsent == KNOWN_UNSENT[service], (
        f"{codes.name}: declared but never sent: {sorted(unsent - KNOWN_UNSENT[service])}; "
        f"listed as unsent but sent now (drop them from KNOWN_UNSENT): {sorted(KNOWN_UNSENT[service] - unsent)}")


def test_codes_are_unique_within_a_contract() -> None:
    for codes in SERVICES.values():
        values = list(codes.declared().values())
        assert len(values) == len(set(values)), codes.name


def test_the_scan_sees_aliases_and_literals() -> None:
    tree = ast.parse("from contracts.certificates import CertificateReason as R\nX = R\n"
                     "a = X.UNKNOWN_SITE\nb = Reason(code='bare', message='m')\nc = _reason('also_bare', 'm')\n")
    codes = SERVICES["certificates"]
    assert _aliases(tree, codes) == {"R", "X"}
    assert [code for _, code in _literal_codes(tree)] == ["bare", "also_bare"]
