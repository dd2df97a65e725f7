"""Who is who: registering members, sites and certification bodies. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.certificates import CertificateReason as R
from contracts.common import Reason
from contracts.registry import CertificationBody, Member, Site


@dataclass(frozen=True)
class Registered:
    """The registry changed; publish the new record."""

    record: Member | Site | CertificationBody


@dataclass(frozen=True)
class Unchanged:
    """The same record is already registered; nothing to publish."""


@dataclass(frozen=True)
class Refused:
    reasons: list[Reason]


Outcome = Registered | Unchanged | Refused


def register_member(member: Member, current: Member | None) -> Outcome:
    return Unchanged() if current == member else Registered(member)


def register_certification_body(
    body: CertificationBody, current: CertificationBody | None
) -> Outcome:
    if body.accredited_until < body.accredited_from:
        return Refused(
            [
                Reason(
                    code=R.DATES_OUT_OF_ORDER,
                    message="accreditation ends before it starts",
                    field="certification_body.accredited_until",
                )
            ]
        )
    return Unchanged() if current == body else Registered(body)


def register_site(site: Site, owner: Member | None, current: Site | None) -> Outcome:
    reasons = []
    if owner is None:
        reasons.append(
            Reason(
                code=R.UNKNOWN_MEMBER,
                message=f"organisation {site.organisation_id} is not a member",
                field="site.organisation_id",
            )
        )
    if current is not None and current.organisation_id != site.organisation_id:
        reasons.append(
            Reason(
                code=R.SITE_OWNED_BY_OTHER_MEMBER,
                message=f"site {site.site_id} belongs to {current.organisation_id}",
                field="site.site_id",
            )
        )
    steps = [f.process_step for f in site.conversion_factors]
    if len(steps) != len(set(steps)):
        reasons.append(
            Reason(
                code=R.DUPLICATE_CONVERSION_FACTOR,
                message="one factor per process step",
                field="site.conversion_factors",
            )
        )
    if reasons:
        return Refused(reasons)
    return Unchanged() if current == site else Registered(site)
