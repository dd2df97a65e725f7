"""The published versions of the wording rules. Add a version; never edit one that decisions
cite."""

from __future__ import annotations

from dataclasses import replace

from contracts.claims import ClaimType
from services.claims.domain.footprints import FootprintRules
from services.claims.domain.wording import ForbiddenPhrase, RequiredElements, WordingRules

_MASS_BALANCE = "under mass balance the product's metal is not physically certified or traced"

ASI_CLAIMS_2026_1 = WordingRules(
    version="asi-claims-2026.1",
    mass_balance_types=frozenset(ClaimType),
    forbidden=(
        ForbiddenPhrase(
            "hundred_percent",
            ("100 percent", "one hundred percent", "hundred percent"),
            _MASS_BALANCE,
        ),
        ForbiddenPhrase(
            "fully_certified",
            ("fully certified", "entirely certified", "wholly certified", "exclusively certified"),
            _MASS_BALANCE,
        ),
        ForbiddenPhrase(
            "fully_traceable",
            (
                "fully traceable",
                "fully traced",
                "completely traceable",
                "full traceability",
                "totally traceable",
            ),
            _MASS_BALANCE,
        ),
        ForbiddenPhrase(
            "mine_to_product",
            (
                "mine to can",
                "mine to shelf",
                "mine to market",
                "mine to product",
                "from mine to",
                "mine to consumer",
            ),
            _MASS_BALANCE,
        ),
        ForbiddenPhrase(
            "traceable_to_source",
            (
                "traceable to the mine",
                "traced to the mine",
                "traceable to its mine",
                "traceable back to the mine",
                "tracked from the mine",
                "traceable to the source",
                "traceable to its source",
            ),
            _MASS_BALANCE,
        ),
        ForbiddenPhrase(
            "carbon_neutral",
            (
                "carbon neutral",
                "climate neutral",
                "co2 neutral",
                "net zero",
                "zero carbon",
                "carbon free",
                "climate positive",
                "carbon negative",
            ),
            "a chain-of-custody claim does not establish neutrality; offsets are not assessed",
        ),
    ),
    required={
        ClaimType.ON_PACK_LOGO: RequiredElements(logo_wording=True, link=True),
        ClaimType.CERTIFIED_TEXT: RequiredElements(
            certificate_number=True, certificate_number_in_wording=True
        ),
        ClaimType.RECYCLED_CONTENT: RequiredElements(figure_in_wording=True, link=True),
        ClaimType.CARBON_FOOTPRINT: RequiredElements(figure_in_wording=True, link=True),
    },
    logo_wordings=("ASI Responsible Aluminium Sourcing", "ASI Responsible Aluminum Sourcing"),
    certificate_number_pattern=r"\bASI-[A-Z]+-[0-9]{4}-[0-9]+\b",
)

# 2026.2 adds one rule (issue 17): an on-pack logo claim rests only on full certificates. (verify)
# domain.md says on-product claims need ASI approval and PS plus CoC certification covering the
# product, and that a provisional certificate (any Major NC open) is expected to become full within
# its year; it does not say which claims a provisional certificate supports. We choose the stricter
# reading for the claim that carries the ASI logo on the product, the one a shopper reads as ASI's
# word: the claimant's covering PS and CoC certificates must be full. Other claim types still accept
# a provisional certificate. A later rule set may widen or drop this; the set is data, not code.
ASI_CLAIMS_2026_2 = replace(
    ASI_CLAIMS_2026_1,
    version="asi-claims-2026.2",
    full_certificate_types=frozenset({ClaimType.ON_PACK_LOGO}),
    _compiled={},
)

# 2026.3 adds footprints with provenance (issue 18 item 5; `domain/footprints.py`): a
# carbon-footprint claim rests on a WBCSD PACT ProductFootprint with third-party assurance recorded,
# for the claim's product, never on the footprint a producer typed into its shipments (which 2026.1
# and 2026.2 compare the claim with, behind the allocation). PACT v2 and ISO 14067 are the sources;
# the settings marked (verify) in FootprintRules are ours.
ASI_CLAIMS_2026_3 = replace(
    ASI_CLAIMS_2026_2,
    version="asi-claims-2026.3",
    footprints=FootprintRules(),
    _compiled={},
)

RULE_SETS: dict[str, WordingRules] = {
    r.version: r for r in (ASI_CLAIMS_2026_1, ASI_CLAIMS_2026_2, ASI_CLAIMS_2026_3)
}
CURRENT = ASI_CLAIMS_2026_3.version


def wording_rules(version: str | None = None) -> WordingRules:
    """The rules of `version` (default: the current one); unknown versions raise KeyError at
    start-up."""
    return RULE_SETS[version or CURRENT]
