"""Footprints with provenance (issue 18 item 5): a carbon-footprint claim rests on a WBCSD PACT
ProductFootprint with third-party assurance recorded, for the claim's product, not on a number a
producer typed into a shipment. Pure: no I/O.

Sources:
- WBCSD PACT, Technical Specifications for PCF Data Exchange v2 (`contracts/pact.py`): the
  `ProductFootprint` (its `productIds`, `status` Active/Deprecated, `validityPeriodEnd`) and
  `CarbonFootprint.assurance` (`assurance`, `providerName`, `completedAt`; v2.1 onwards). When no
  validity end is stated, PACT takes 3 years after the reference period's end (verify; configurable:
  `FootprintRules.default_validity_years`).
- ISO 14067:2018 (carbon footprint of products), on communication of a CFP: a figure made public
  must rest on a CFP study whose results are verified; we read "verified" as PACT's third-party
  assurance recorded (assured, by a named provider, completed on a date). The claimed figure may not
  be lower than the footprint's `pCfExcludingBiogenic` (kg CO2e per kg: the declared unit must be
  the kilogram).
- Ours (verify, configurable): which assurance coverages count (`accepted_coverages`; default any,
  since PACT leaves coverage optional), and that the footprint is the claimant's own or a supplier's
  the request names (a footprint of someone else's product chain is not evidence for this claim).

Reason codes (`contracts.claims.ClaimReason`), each with the field it is about: `footprint_unknown`
(`footprint_id`), `footprint_not_from_claimant_or_supplier` (`footprint_id`), `footprint_deprecated`
(`footprint.status`), `footprint_not_assured` (`pcf.assurance`, `pcf.assurance.assurance`,
`pcf.assurance.completedAt`, `pcf.assurance.coverage`), `footprint_product_mismatch`
(`product.product_id`), `footprint_expired` (`period_end`), `footprint_declared_unit_not_kilogram`
(`pcf.declaredUnit`), `carbon_footprint_not_supported` (`carbon_footprint_kg_co2e_per_kg`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from contracts.claims import (
    ClaimReason,
    ClaimRequested,
    ClaimType,
    FootprintEvidence,
    FootprintSubmitted,
)
from contracts.common import Reason
from contracts.pact import (
    AssuranceCoverage,
    DeclaredUnit,
    FootprintStatus,
    ProductFootprint,
    default_validity_end,
)


@dataclass(frozen=True)
class FootprintRules:
    """The settings of the footprint rule; part of a versioned rule set (`rule_sets.py`)."""

    default_validity_years: int = 3
    """Validity after the reference period's end when the footprint states none (PACT v2;
    verify)."""
    accepted_coverages: frozenset[AssuranceCoverage] | None = None
    """Assurance coverages that count; None: any, or none stated (ours; verify)."""


@dataclass(frozen=True)
class Footprint:
    """A PACT footprint as claims keeps it: the document, who submitted it, when."""

    document: ProductFootprint
    owner: str
    submitted_at: datetime
    coc_document_ids: tuple[str, ...] = ()

    @classmethod
    def of(cls, message: FootprintSubmitted) -> Footprint:
        return cls(
            message.footprint,
            message.producer_organisation_id,
            message.occurred_at,
            tuple(message.coc_document_ids),
        )

    @property
    def footprint_id(self) -> UUID:
        return self.document.id

    @property
    def version(self) -> int:
        return self.document.version

    @property
    def content_hash(self) -> str:
        """What makes two submissions of one version the same (document and documents covered)."""
        body = {
            "footprint": self.document.document(),
            "coc_document_ids": list(self.coc_document_ids),
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


Footprints = Mapping[str, Footprint]
"""Footprints by id (the string form of the UUID)."""


# ---- submission ----------------------------------------------------------------------------------


def submission_reason(stored: Footprint | None, new: Footprint) -> Reason | None:
    """Why a submission is refused (the stored one stands), or None: store it. The same version with
    the same content is accepted again (a redelivery), and changes nothing."""
    if stored is None:
        return None
    if stored.owner != new.owner:
        return Reason(
            code=ClaimReason.REQUEST_CONFLICT,
            field="footprint.id",
            message=f"footprint {new.footprint_id} was submitted by another organisation",
        )
    if new.version < stored.version:
        return Reason(
            code=ClaimReason.REQUEST_CONFLICT,
            field="footprint.version",
            message=f"version {new.version} is older than the stored version {stored.version}",
        )
    if new.version == stored.version and new.content_hash != stored.content_hash:
        return Reason(
            code=ClaimReason.REQUEST_CONFLICT,
            field="footprint.version",
            message=f"version {new.version} of footprint {new.footprint_id} was already submitted "
            "with other content; send a new version",
        )
    return None


def wrongly_keyed_reason(claim_id: str, footprint_id: UUID) -> Reason:
    return Reason(
        code=ClaimReason.INVALID_REQUEST,
        field="claim_id",
        message=f"a footprint is sent under claim_id footprint:{footprint_id}, not {claim_id}",
    )


# ---- the claim -----------------------------------------------------------------------------------


def validity_end(footprint: ProductFootprint, rules: FootprintRules) -> date:
    """Last day the footprint is valid: its `validityPeriodEnd`, else the default after its
    reference period."""
    if footprint.validity_period_end is not None:
        return footprint.validity_period_end.date()
    return default_validity_end(footprint, rules.default_validity_years)


def names_product(footprint: ProductFootprint, product_id: str) -> bool:
    """The footprint's `productIds` name the product: the URN itself, or its last part
    (`urn:gtin:04012345678901` names product `04012345678901`). Case-insensitive."""
    wanted = product_id.casefold()
    return any(
        urn.casefold() == wanted or urn.rsplit(":", 1)[-1].casefold() == wanted
        for urn in footprint.product_ids
    )


def assurance_reasons(footprint: ProductFootprint, rules: FootprintRules) -> list[Reason]:
    """Third-party assurance recorded: assured, by a named provider, completed on a date (and of an
    accepted coverage, when the rules restrict it)."""
    assurance = footprint.pcf.assurance
    fid = footprint.id

    def missing(field_name: str, what: str) -> Reason:
        return Reason(
            code=ClaimReason.FOOTPRINT_NOT_ASSURED,
            field=field_name,
            message=f"footprint {fid} {what}",
        )

    if assurance is None:
        return [missing("pcf.assurance", "records no third-party assurance")]
    reasons = []
    if not assurance.assurance:
        reasons.append(missing("pcf.assurance.assurance", "states it was not assured"))
    if not assurance.provider_name.strip():
        reasons.append(missing("pcf.assurance.providerName", "names no assurance provider"))
    if assurance.completed_at is None:
        reasons.append(
            missing("pcf.assurance.completedAt", "states no date the assurance was completed")
        )
    accepted = rules.accepted_coverages
    if accepted is not None and assurance.coverage not in accepted:
        stated = assurance.coverage.value if assurance.coverage else "none"
        allowed = ", ".join(sorted(c.value for c in accepted))
        reasons.append(
            missing("pcf.assurance.coverage", f"is assured at coverage {stated}, not {allowed}")
        )
    return reasons


def footprint_reasons(
    request: ClaimRequested, footprints: Footprints, rules: FootprintRules, today: date
) -> list[Reason]:
    """Every reason the footprint named by a carbon-footprint claim does not support it (empty:
    it does). Other claim types: nothing to check."""
    if request.claim_type is not ClaimType.CARBON_FOOTPRINT:
        return []
    if request.footprint_id is None:
        return [
            Reason(
                code=ClaimReason.FOOTPRINT_UNKNOWN,
                field="footprint_id",
                message="a carbon-footprint claim must name the PACT footprint it rests on",
            )
        ]
    kept = footprints.get(str(request.footprint_id))
    if kept is None:
        return [
            Reason(
                code=ClaimReason.FOOTPRINT_UNKNOWN,
                field="footprint_id",
                message=f"no footprint {request.footprint_id} was submitted",
            )
        ]
    footprint = kept.document
    reasons: list[Reason] = []
    chain = {request.claimant_organisation_id, *request.product.supplier_organisation_ids}
    if kept.owner not in chain:
        reasons.append(
            Reason(
                code=ClaimReason.FOOTPRINT_NOT_IN_SUPPLY_CHAIN,
                field="footprint_id",
                message=f"footprint {footprint.id} was submitted by {kept.owner}, neither the "
                "claimant nor a supplier the request names",
            )
        )
    if footprint.status is FootprintStatus.DEPRECATED:
        reasons.append(
            Reason(
                code=ClaimReason.FOOTPRINT_DEPRECATED,
                field="footprint.status",
                message=f"footprint {footprint.id} version {footprint.version} is Deprecated",
            )
        )
    reasons += assurance_reasons(footprint, rules)
    if not names_product(footprint, request.product.product_id):
        reasons.append(
            Reason(
                code=ClaimReason.FOOTPRINT_PRODUCT_MISMATCH,
                field="product.product_id",
                message=f"footprint {footprint.id} is for {', '.join(footprint.product_ids)}, not "
                f"product {request.product.product_id}",
            )
        )
    ends = validity_end(footprint, rules)
    if ends < max(request.period_end, today):
        reasons.append(
            Reason(
                code=ClaimReason.FOOTPRINT_EXPIRED,
                field="period_end",
                message=f"footprint {footprint.id} is valid until {ends}, the claim runs to "
                f"{request.period_end}",
            )
        )
    reasons += figure_reasons(request, footprint)
    return reasons


def figure_reasons(request: ClaimRequested, footprint: ProductFootprint) -> list[Reason]:
    """The claimed kg CO2e per kg is not below the footprint's `pCfExcludingBiogenic` per kg."""
    pcf = footprint.pcf
    if pcf.declared_unit is not DeclaredUnit.KILOGRAM:
        return [
            Reason(
                code=ClaimReason.FOOTPRINT_UNIT_NOT_KILOGRAM,
                field="pcf.declaredUnit",
                message=f"footprint {footprint.id} is declared per {pcf.declared_unit.value}; "
                "a claim states kg CO2e per kilogram",
            )
        ]
    claimed = request.carbon_footprint_kg_co2e_per_kg
    if claimed is not None and claimed < pcf.p_cf_excluding_biogenic:
        return [
            Reason(
                code=ClaimReason.CARBON_FOOTPRINT_UNSUPPORTED,
                field="carbon_footprint_kg_co2e_per_kg",
                message=f"claimed footprint {claimed} kg CO2e/kg is below the footprint's "
                f"{pcf.p_cf_excluding_biogenic} (pCfExcludingBiogenic of {footprint.id})",
            )
        ]
    return []


def evidence(
    request: ClaimRequested, footprints: Footprints, rules: FootprintRules
) -> FootprintEvidence | None:
    """The footprint a carbon-footprint claim was checked against, with its provenance."""
    if request.claim_type is not ClaimType.CARBON_FOOTPRINT or request.footprint_id is None:
        return None
    kept = footprints.get(str(request.footprint_id))
    if kept is None:
        return None
    footprint = kept.document
    assurance = footprint.pcf.assurance
    return FootprintEvidence(
        footprint_id=footprint.id,
        version=footprint.version,
        submitted_by=kept.owner,
        company_name=footprint.company_name,
        declared_unit=footprint.pcf.declared_unit.value,
        pcf_excluding_biogenic=footprint.pcf.p_cf_excluding_biogenic,
        assurance_provider=assurance.provider_name if assurance else None,
        assurance_completed_at=assurance.completed_at if assurance else None,
        assurance_level=assurance.level.value if assurance and assurance.level else None,
        assurance_standard=assurance.standard_name if assurance else None,
        valid_until=validity_end(footprint, rules),
    )


def documented_footprint_reasons(claimed: Decimal, documented: Decimal | None) -> list[Reason]:
    """A carbon footprint claim under a rule set without the footprint rule
    (`checks.allocation_reasons`): the CoC Documents behind the allocation state a footprint
    (`documented`), and the claimed one is not below it."""
    if documented is None:
        return [
            Reason(
                code=ClaimReason.CARBON_FOOTPRINT_UNSUPPORTED,
                field="carbon_footprint_kg_co2e_per_kg",
                message="the CoC Documents behind the allocation state no carbon footprint",
            )
        ]
    if claimed < documented:
        return [
            Reason(
                code=ClaimReason.CARBON_FOOTPRINT_UNSUPPORTED,
                field="carbon_footprint_kg_co2e_per_kg",
                message=f"claimed footprint {claimed} kg "
                f"CO2e/kg is below the documented {documented}",
            )
        ]
    return []
