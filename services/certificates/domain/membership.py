"""Membership at risk: a member of a must-certify class (Production and Transformation, Industrial
Users) without a Performance Standard certificate two years after joining risks its membership
(seeds/002). The clock flags it (`MemberCertificationOverdue`); the secretariat then extends the
deadline or records the forfeiture. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from contracts.certificates import CertificateReason as R
from contracts.common import Reason, Standard
from contracts.registry import Certificate, Member
from services.certificates.domain.model import CURRENT, reason
from services.certificates.domain.rules import Rules, add_years


@dataclass(frozen=True)
class Standing:
    """Where a member's certification duty stands (the `membership_checks` record)."""

    due_on: date | None = None
    flagged: bool = False
    forfeited_on: date | None = None
    extended_until: date | None = None


def _member_reasons(
    member: Member | None, organisation_id: str, standing: Standing, rules: Rules
) -> list[Reason]:
    if member is None:
        return [
            reason(
                R.UNKNOWN_MEMBER,
                f"organisation {organisation_id} is not a member",
                "organisation_id",
            )
        ]
    if member.membership_class not in rules.must_certify:
        return [
            reason(
                R.NOT_MUST_CERTIFY,
                f"a {member.membership_class.value} member has no certification deadline",
                "organisation_id",
            )
        ]
    if standing.forfeited_on is not None:
        return [
            reason(
                R.MEMBERSHIP_FORFEITED,
                f"{organisation_id} forfeited its membership on {standing.forfeited_on}",
                "organisation_id",
            )
        ]
    return []


def extension_reasons(
    member: Member | None, organisation_id: str, standing: Standing, until: date, rules: Rules
) -> list[Reason]:
    """An extension moves the deadline later, for a must-certify member that has not forfeited."""
    reasons = _member_reasons(member, organisation_id, standing, rules)
    if not reasons and standing.due_on is not None and until <= standing.due_on:
        reasons.append(
            reason(
                R.DATES_OUT_OF_ORDER,
                f"the deadline is already {standing.due_on}; an extension must be later",
                "until",
            )
        )
    return reasons


def forfeiture_reasons(
    member: Member | None, organisation_id: str, standing: Standing, rules: Rules
) -> list[Reason]:
    """A forfeiture is recorded only for a member flagged at risk (overdue, not extended since)."""
    reasons = _member_reasons(member, organisation_id, standing, rules)
    if not reasons and not standing.flagged:
        reasons.append(
            reason(
                R.MEMBERSHIP_NOT_AT_RISK,
                f"{organisation_id} has not been flagged as overdue with its certification",
                "organisation_id",
            )
        )
    return reasons


def certification_deadline(member: Member, rules: Rules) -> date | None:
    """Last day by which a member of a must-certify class needs a PS certificate (None: no duty)."""
    if member.membership_class not in rules.must_certify:
        return None
    return add_years(member.joined_on, rules.certify_within_years)


def certification_overdue(
    member: Member, certificates: Iterable[Certificate], today: date, rules: Rules
) -> bool:
    """A must-certify member past its deadline without a current PS certificate."""
    deadline = certification_deadline(member, rules)
    if deadline is None or today <= deadline:
        return False
    return not any(
        c.organisation_id == member.organisation_id
        and c.standard is Standard.PERFORMANCE_STANDARD
        and c.status in CURRENT
        for c in certificates
    )
