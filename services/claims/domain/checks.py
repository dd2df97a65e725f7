"""The checks a claim must pass, each failing with its own reason code. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from contracts.claims import (
    AllocationEvidence,
    CertificateEvidence,
    ClaimReason,
    ClaimRequested,
    ClaimType,
    FootprintEvidence,
)
from contracts.common import Reason, Role, Standard
from contracts.registry import CURRENT_STATUSES, Certificate
from services.claims.domain import footprints
from services.claims.domain.certification import full_certificate_reasons
from services.claims.domain.footprints import Footprint
from services.claims.domain.membership import membership_reasons
from services.claims.domain.wording import WordingRules, check_wording, quoted_certificate_numbers


@dataclass(frozen=True)
class Registry:
    """What the claims service knows of members and certificates (its projection), for one check."""

    members: frozenset[str] = frozenset()
    certificates: tuple[Certificate, ...] = ()
    standing: Mapping[str, str] = field(
        default_factory=dict
    )  # members at risk or forfeited (domain.membership)
    footprints: dict[str, Footprint] = field(default_factory=dict)
    """PACT footprints the requests name, by id (`domain/footprints.py`); a batch adds those it
    is sent."""

    def of(self, organisation_id: str) -> list[Certificate]:
        return [c for c in self.certificates if c.organisation_id == organisation_id]

    def by_number(self, number: str) -> Certificate | None:
        key = number.upper()
        return next((c for c in self.certificates if c.certificate_number.upper() == key), None)


@dataclass(frozen=True)
class Allocation:
    """What accounting reserved for a claim."""

    mass_kg: Decimal
    account_ids: tuple[str, ...] = ()
    document_ids: tuple[str, ...] = ()
    recycled_content_share: Decimal | None = None
    carbon_footprint_kg_co2e_per_kg: Decimal | None = None
    recycled_pre_consumer_share: Decimal | None = None
    recycled_post_consumer_share: Decimal | None = None
    """The split of `recycled_content_share` accounting computed (ISO 14021; None: not stated)."""
    documented_mass_kg: Decimal | None = None
    """Mass the CoC Documents behind it supply (the sum of their shares); None: not known."""

    def evidence(self) -> AllocationEvidence:
        return AllocationEvidence(
            mass_kg=self.mass_kg,
            account_ids=list(self.account_ids),
            document_ids=list(self.document_ids),
            recycled_content_share=self.recycled_content_share,
            recycled_pre_consumer_share=self.recycled_pre_consumer_share,
            recycled_post_consumer_share=self.recycled_post_consumer_share,
            carbon_footprint_kg_co2e_per_kg=self.carbon_footprint_kg_co2e_per_kg,
        )


@dataclass(frozen=True)
class CheckResult:
    reasons: list[Reason]
    resting_on: list[Certificate] = field(default_factory=list)
    """The claimant's own certificates the approval rests on (its validity, revocation, expiry)."""
    examined: list[Certificate] = field(default_factory=list)
    claimed_mass_kg: Decimal | None = None
    suppliers: list[Certificate] = field(default_factory=list)
    """Named suppliers' current CoC certificates, checked at request and grant: evidence only
    afterwards."""
    footprint: FootprintEvidence | None = None
    """The PACT footprint a carbon-footprint claim was checked against."""

    @property
    def passed(self) -> bool:
        return not self.reasons

    def certificate_evidence(self) -> list[CertificateEvidence]:
        return [
            as_evidence(c)
            for c in ([*self.resting_on, *self.suppliers] if self.passed else self.examined)
        ]


def as_evidence(c: Certificate) -> CertificateEvidence:
    return CertificateEvidence(
        certificate_id=c.certificate_id,
        certificate_number=c.certificate_number,
        standard=c.standard.value,
        status=c.status,
        valid_until=c.valid_until,
    )


def is_current(c: Certificate, today: date) -> bool:
    """Active or provisional, and today within its validity (an overdue expiry counts as
    expired)."""
    return c.status in CURRENT_STATUSES and c.valid_from <= today <= c.valid_until


def covers(c: Certificate, product_id: str) -> bool:
    """A scope with no product list covers every product of the certified entity; otherwise the
    product must be listed."""
    return not c.scope.products or product_id in c.scope.products


def claimed_mass(request: ClaimRequested) -> Decimal | None:
    """Units x aluminium per unit when units are given, else the total mass; exact."""
    product = request.product
    if product.units is not None:
        return Decimal(product.aluminium_mass_per_unit_kg * product.units)
    return None if product.total_mass_kg is None else Decimal(product.total_mass_kg)


def request_reasons(request: ClaimRequested, today: date) -> list[Reason]:
    reasons = []
    product = request.product
    if product.units is None and product.total_mass_kg is None:
        reasons.append(
            Reason(
                code=ClaimReason.INVALID_REQUEST,
                field="product",
                message="give the number of units or the total aluminium mass",
            )
        )
    elif (
        product.units is not None
        and product.total_mass_kg is not None
        and product.aluminium_mass_per_unit_kg * product.units != product.total_mass_kg
    ):
        reasons.append(
            Reason(
                code=ClaimReason.INVALID_REQUEST,
                field="product.total_mass_kg",
                message="units x aluminium per unit does not equal the total mass given",
            )
        )
    if request.period_end < request.period_start:
        reasons.append(
            Reason(
                code=ClaimReason.INVALID_REQUEST,
                field="period_end",
                message="the period ends before it starts",
            )
        )
    elif request.period_end < today:
        reasons.append(
            Reason(
                code=ClaimReason.INVALID_REQUEST,
                field="period_end",
                message=f"the period ended on {request.period_end}",
            )
        )
    if (
        request.actor.role is not Role.SECRETARIAT
        and request.actor.organisation_id != request.claimant_organisation_id
    ):
        reasons.append(
            Reason(
                code=ClaimReason.REQUESTER_NOT_CLAIMANT,
                field="actor.organisation_id",
                message=f"{request.actor.organisation_id} may not request a claim for "
                f"{request.claimant_organisation_id}",
            )
        )
    return reasons


def certificate_reasons(
    request: ClaimRequested, registry: Registry, today: date
) -> tuple[list[Reason], list[Certificate], list[Certificate], list[Certificate]]:
    """Membership, current PS and CoC certificates of the claimant covering the product, and a
    current CoC certificate for every supplier the request names: (reasons, resting on, examined,
    suppliers').

    The approval rests on the claimant's own certificates only (issue 15, item 3;
    `../shared/domain.md`: "Material received as CoC before a supplier's suspension keeps its
    status"): a supplier's later suspension does not revoke it. A supplier named in a new request
    must be current when it is checked."""
    claimant = request.claimant_organisation_id
    if claimant not in registry.members:
        return [_not_a_member_reason(claimant)], [], [], []
    owned = registry.of(claimant)
    reasons: list[Reason] = []
    resting: list[Certificate] = []
    for standard, missing in _OWN_STANDARDS:
        found = _own_certificate(request, owned, standard, missing, today)
        if isinstance(found, Reason):
            reasons.append(found)
        else:
            resting.append(found)
    examined = list(owned)
    suppliers: list[Certificate] = []
    for supplier in dict.fromkeys(request.product.supplier_organisation_ids):
        supplied = [c for c in registry.of(supplier) if c.standard is Standard.CHAIN_OF_CUSTODY]
        examined += supplied
        current = [c for c in supplied if is_current(c, today)]
        if not current:
            reasons.append(_supplier_not_certified_reason(supplier, today))
        else:
            suppliers.append(_latest(current))
    return reasons, resting, examined, suppliers


def _not_a_member_reason(claimant: str) -> Reason:
    return Reason(
        code=ClaimReason.NOT_A_MEMBER,
        field="claimant_organisation_id",
        message=f"{claimant} is not a registered ASI member",
    )


_OWN_STANDARDS: tuple[tuple[Standard, str], ...] = (
    (Standard.PERFORMANCE_STANDARD, ClaimReason.NO_CURRENT_PS),
    (Standard.CHAIN_OF_CUSTODY, ClaimReason.NO_CURRENT_COC),
)
"""The claimant's own certificates an approval rests on, with the reason when none is current."""


def _own_certificate(
    request: ClaimRequested,
    owned: Sequence[Certificate],
    standard: Standard,
    missing: str,
    today: date,
) -> Certificate | Reason:
    """The claimant's current certificate of this standard covering the product (the latest), or
    why there is none: `missing` when none is current, not covered when none covers the product."""
    claimant = request.claimant_organisation_id
    current = [c for c in owned if c.standard is standard and is_current(c, today)]
    covering = [c for c in current if covers(c, request.product.product_id)]
    if not current:
        return Reason(
            code=missing,
            field="claimant_organisation_id",
            message=f"{claimant} holds no current {standard.value} certificate on {today}",
        )
    if not covering:
        return Reason(
            code=ClaimReason.PRODUCT_NOT_COVERED,
            field="product.product_id",
            message=f"no current {standard.value} certificate of {claimant} covers product "
            f"{request.product.product_id}",
        )
    return _latest(covering)


def _supplier_not_certified_reason(supplier: str, today: date) -> Reason:
    return Reason(
        code=ClaimReason.SUPPLIER_NOT_CERTIFIED,
        field="product.supplier_organisation_ids",
        message=f"supplier {supplier} named for the product holds no current chain of "
        f"custody certificate on {today}",
    )


def _latest(certificates: Sequence[Certificate]) -> Certificate:
    """The certificate valid the longest (ties: the highest id)."""
    return max(certificates, key=lambda c: (c.valid_until, c.certificate_id))


def quoted_number_reasons(
    request: ClaimRequested, registry: Registry, rules: WordingRules, today: date
) -> list[Reason]:
    reasons = []
    for number in quoted_certificate_numbers(request, rules):
        cert = registry.by_number(number)
        if cert is None or cert.organisation_id != request.claimant_organisation_id:
            problem = (
                "is not a certificate of the claimant" if cert else "is not a known ASI certificate"
            )
        elif not is_current(cert, today):
            problem = f"is not current ({cert.status.value}, valid until {cert.valid_until})"
        else:
            continue
        reasons.append(
            Reason(
                code=ClaimReason.CERTIFICATE_NUMBER_INVALID,
                field="certificate_number",
                message=f"certificate number {number} {problem}",
            )
        )
    return reasons


def static_checks(
    request: ClaimRequested, registry: Registry, rules: WordingRules, today: date
) -> CheckResult:
    """Every check that needs no allocation. All failures are reported, not just the first."""
    reasons = request_reasons(request, today)
    certificate_failures, resting, examined, suppliers = certificate_reasons(
        request, registry, today
    )
    reasons += certificate_failures
    reasons += full_certificate_reasons(request, resting, rules)
    reasons += membership_reasons(request, registry.standing)
    reasons += check_wording(request, rules)
    reasons += quoted_number_reasons(request, registry, rules, today)
    footprint = None
    if rules.footprints is not None:
        reasons += footprints.footprint_reasons(
            request, registry.footprints, rules.footprints, today
        )
        footprint = footprints.evidence(request, registry.footprints, rules.footprints)
    return CheckResult(reasons, resting, examined, claimed_mass(request), suppliers, footprint)


def recycled_content_reasons(claimed: Decimal, allocation: Allocation) -> list[Reason]:
    """A recycled-content claim quotes the share accounting computed from eligible scrap inputs
    (issue 18 item 4), with its pre- and post-consumer split (ISO 14021): it may claim no more than
    that share, and only when the CoC Documents behind the mass state the split."""
    documented = allocation.recycled_content_share
    pre, post = allocation.recycled_pre_consumer_share, allocation.recycled_post_consumer_share
    if documented is not None and pre is not None and post is not None and claimed > documented:
        message = (
            f"claimed recycled share {_figure(claimed)} is above the {_figure(documented)} "
            f"accounting computed ({_figure(pre)} pre-consumer, {_figure(post)} post-consumer)"
        )
    elif documented is None:
        message = "the CoC Documents behind the allocation state no recycled content"
    elif pre is None or post is None:
        message = (
            "the CoC Documents behind the allocation state a recycled share "
            f"({_figure(documented)}) "
            "without its pre- and post-consumer split computed by accounting"
        )
    else:
        return []
    return [
        Reason(
            code=ClaimReason.RECYCLED_CONTENT_UNSUPPORTED,
            field="recycled_content_share",
            message=message,
        )
    ]


def _figure(share: Decimal) -> str:
    """A share as people read it: 0.45, not 0.450000."""
    return format(share.normalize(), "f")


def allocation_reasons(
    request: ClaimRequested, allocation: Allocation, rules: WordingRules | None = None
) -> list[Reason]:
    """The checks on what the allocation documents: mass, recycled share, and (rule sets without
    the footprint rule, `domain/footprints.py`) the carbon footprint stated on the CoC Documents."""
    reasons = []
    mass = claimed_mass(request)
    if mass is not None and allocation.mass_kg < mass:
        reasons.append(
            Reason(
                code=ClaimReason.MASS_NOT_COVERED,
                field="product",
                message=f"{allocation.mass_kg} kg allocated for {mass} kg claimed",
            )
        )
    if (
        request.claim_type is ClaimType.RECYCLED_CONTENT
        and request.recycled_content_share is not None
    ):
        reasons.extend(recycled_content_reasons(request.recycled_content_share, allocation))
    if (
        request.claim_type is ClaimType.CARBON_FOOTPRINT
        and (rules is None or rules.footprints is None)
        and request.carbon_footprint_kg_co2e_per_kg is not None
    ):
        claimed, documented = (
            request.carbon_footprint_kg_co2e_per_kg,
            allocation.carbon_footprint_kg_co2e_per_kg,
        )
        reasons.extend(footprints.documented_footprint_reasons(claimed, documented))
    return reasons
