"""Wording rules as versioned data, and the check that applies them. Pure: no I/O.

Text is compared in a normal form (Unicode NFKC, case-folded, "%" read as "percent", every other
run of punctuation or spaces a single space), so "100 %", "100%," and "ONE-HUNDRED PERCENT" match
the same rule and "mine-to-can" matches "mine to can".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from contracts.claims import ClaimReason, ClaimRequested, ClaimType
from contracts.common import Reason
from services.claims.domain.footprints import FootprintRules


@dataclass(frozen=True)
class ForbiddenPhrase:
    """Wording a mass-balance claim must not use; any variant matches."""

    rule_id: str
    variants: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class RequiredElements:
    """What a claim of one type must carry."""

    certificate_number: bool = False
    certificate_number_in_wording: bool = False
    link: bool = False
    logo_wording: bool = False
    figure_in_wording: bool = False


@dataclass(frozen=True)
class WordingRules:
    """One version of the wording rules; its `version` is stamped into every decision's evidence."""

    version: str
    mass_balance_types: frozenset[ClaimType]
    forbidden: tuple[ForbiddenPhrase, ...]
    required: dict[ClaimType, RequiredElements]
    logo_wordings: tuple[str, ...]
    certificate_number_pattern: str
    link_pattern: str = r"^https?://[^\s/]+\.[^\s]+$"
    full_certificate_types: frozenset[ClaimType] = frozenset()
    """Claim types that rest only on full certificates, never provisional ones
    (`domain/certification.py`)."""
    footprints: FootprintRules | None = None
    """The footprint rule (`domain/footprints.py`): a carbon-footprint claim rests on an assured
    PACT footprint. None (rule sets before 2026.3): the footprint documented behind the
    allocation."""
    _compiled: dict[str, re.Pattern[str]] = field(default_factory=dict, compare=False, repr=False)

    def forbidden_pattern(self, phrase: ForbiddenPhrase) -> re.Pattern[str]:
        pattern = self._compiled.get(phrase.rule_id)
        if pattern is None:
            alternatives = "|".join(re.escape(normalise(v)) for v in phrase.variants)
            pattern = re.compile(rf"(?<![a-z0-9])(?:{alternatives})(?![a-z0-9])")
            self._compiled[phrase.rule_id] = pattern
        return pattern


_PERCENT = re.compile(r"[%\uFF05\u2030]|\bper\s*cent\b|\bpct\b")
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_TRAILING_ZEROS = re.compile(r"(\d)[.,](\d*?)0+(?!\d)")  # "100.0%" is "100%", "4.50" is "4.5"


def normalise(text: str) -> str:
    """Case-folded words separated by single spaces, with every way of writing per cent as
    'percent'."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = _PERCENT.sub(" percent ", folded)
    folded = _TRAILING_ZEROS.sub(
        lambda m: m.group(1) + (f".{m.group(2)}" if m.group(2) else ""), folded
    )
    return _NOT_WORD.sub(" ", folded).strip()


def check_wording(request: ClaimRequested, rules: WordingRules) -> list[Reason]:
    """Every wording rule the request breaks (empty: the wording is allowed)."""
    text = normalise(request.wording)
    reasons: list[Reason] = []
    if request.claim_type in rules.mass_balance_types:
        for phrase in rules.forbidden:
            found = rules.forbidden_pattern(phrase).search(text)
            if found:
                reasons.append(
                    Reason(
                        code=ClaimReason.MISLEADING_WORDING,
                        field="wording",
                        message=f"a mass-balance claim must not say '{found.group(0)}' "
                        f"({phrase.rule_id}): {phrase.why}",
                    )
                )
    reasons.extend(_missing_elements(request, rules, text))
    return reasons


def _missing_elements(request: ClaimRequested, rules: WordingRules, text: str) -> list[Reason]:
    """The elements the claim type requires (`RequiredElements`) that the request lacks, one reason
    each, in the order of the checks below."""
    need = rules.required.get(request.claim_type, RequiredElements())
    found = [
        need.certificate_number and _no_certificate_number(request),
        need.certificate_number_in_wording and _number_not_in_wording(request, text),
        need.link and _no_link(request, rules),
        need.logo_wording and _no_logo_wording(rules, text),
    ]
    missing = [
        Reason(code=ClaimReason.MISSING_ELEMENT, field=field_name, message=message)
        for field_name, message in (f for f in found if f)
    ]
    if need.figure_in_wording:
        missing.extend(_missing_figure(request, text))
    return missing


Lack = tuple[str, str] | None
"""A missing element: the field and the message, or None when it is there."""


def _no_certificate_number(request: ClaimRequested) -> Lack:
    if request.certificate_number:
        return None
    return (
        "certificate_number",
        f"a {request.claim_type} claim must quote the claimant's ASI certificate number",
    )


def _number_not_in_wording(request: ClaimRequested, text: str) -> Lack:
    number = request.certificate_number
    if not number or normalise(number) in text:
        return None
    return "wording", f"the wording must show the certificate number {number}"


def _no_link(request: ClaimRequested, rules: WordingRules) -> Lack:
    if request.link and re.match(rules.link_pattern, request.link.strip()):
        return None
    return "link", f"a {request.claim_type} claim must carry an http(s) information link"


def _no_logo_wording(rules: WordingRules, text: str) -> Lack:
    if any(_contains(text, w) for w in rules.logo_wordings):
        return None
    return "wording", f"the on-pack logo claim must carry the wording '{rules.logo_wordings[0]}'"


def _missing_figure(request: ClaimRequested, text: str) -> list[Reason]:
    if request.claim_type is ClaimType.RECYCLED_CONTENT:
        share = request.recycled_content_share
        if share is None:
            return [
                Reason(
                    code=ClaimReason.MISSING_ELEMENT,
                    field="recycled_content_share",
                    message="a recycled-content claim must state the recycled share it claims",
                )
            ]
        figure = _plain(share * 100)
        if not _contains(text, f"{figure} percent"):
            return [
                Reason(
                    code=ClaimReason.MISSING_ELEMENT,
                    field="wording",
                    message=f"the wording must state the claimed recycled share ({figure}%)",
                )
            ]
    if request.claim_type is ClaimType.CARBON_FOOTPRINT:
        footprint = request.carbon_footprint_kg_co2e_per_kg
        if footprint is None:
            return [
                Reason(
                    code=ClaimReason.MISSING_ELEMENT,
                    field="carbon_footprint_kg_co2e_per_kg",
                    message="a carbon-footprint claim must state the footprint it claims",
                )
            ]
        figure = _plain(footprint)
        if not _contains(text, figure):
            return [
                Reason(
                    code=ClaimReason.MISSING_ELEMENT,
                    field="wording",
                    message="the wording must state the claimed footprint "
                    f"({figure} kg CO2e per kg)",
                )
            ]
    return []


def _plain(value: Decimal) -> str:
    """A decimal as people print it: '35' for 0.35 x 100, '4.5' for 4.50 (`normalize` drops the
    trailing zeros, fixed-point format the exponent: '100' for 1E+2)."""
    return format(value.normalize(), "f")


def _contains(text: str, phrase: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(normalise(phrase))}(?![a-z0-9])", text) is not None


def quoted_certificate_numbers(request: ClaimRequested, rules: WordingRules) -> list[str]:
    """Certificate numbers the claim quotes: the stated one and any printed in the wording."""
    numbers = [request.certificate_number] if request.certificate_number else []
    for found in re.findall(rules.certificate_number_pattern, request.wording, flags=re.IGNORECASE):
        if found.upper() not in {n.upper() for n in numbers}:
            numbers.append(found)
    return numbers
