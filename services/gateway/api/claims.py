"""Brand owners: request claim verification, follow a claim to its decision, report its usage, withdraw it.

A claim id is its claimant's own (issue 23): a claim is (claimant, claim id) here as in the claims
service, so two brand owners may use the same id and neither learns of the other's claim. A brand
owner's `{claim_id}` is always one of its own claims; the secretariat names the claimant with
`?organisation_id=` when several organisations use the id."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import Field

from contracts.claims import ClaimRequested, ClaimUsageReported, ClaimWithdrawn
from contracts.common import Role, Text
from services.gateway.adapters import store
from services.gateway.api.deps import ApiError, GatewayDep, StrictBody, denied, publish, respond, role
from services.gateway.domain import access, reconciliation
from services.gateway.domain.access import AccessDenied, Principal
from services.gateway.inputs import ClaimRequestedInput

router = APIRouter(tags=["brand owners"])
BrandOwner = Annotated[Principal, role(Role.BRAND_OWNER, Role.SECRETARIAT)]


class Withdrawal(StrictBody):
    reason: Text = Field(description="Why the claim is withdrawn.")


class UsageReport(StrictBody):
    """Units that carried the claim in one period; a period is reported once."""

    period_start: date = Field(description="First day of the reporting period.")
    period_end: date = Field(description="Last day of the reporting period.")
    units: int = Field(gt=0, description="Units that carried the claim in the period.")
    event_id: UUID | None = Field(default=None, description="Your id for this report: sending the same id again is a "
                                  "no-op downstream. Generated when omitted.")


def _view(doc: dict[str, Any]) -> dict[str, Any]:
    request = doc.get("request") or {}
    return {
        "claim_id": doc.get("claim_id", doc["_id"]), "status": doc.get("status"), "claimant_organisation_id": doc.get("claimant_organisation_id"),
        "approval_code": doc.get("approval_code"), "valid_until": doc.get("valid_until"), "reasons": doc.get("reasons", []),
        "waiting_for": doc.get("waiting_for"), "evidence": doc.get("evidence"), "decided_at": doc.get("decided_at"),
        "claim_type": request.get("claim_type"), "product": request.get("product"), "wording": request.get("wording"),
        "mass": doc.get("mass"), "history": doc.get("history", []),
        "pilot": bool(doc.get("pilot")), "review": doc.get("review"),  # issue 18: pilot claim types, the review
        "approved_vs_used": mass.view() if (mass := reconciliation.claim_mass(doc)) else None,  # issue 18 item 6
    }


@router.post("/v1/claims", status_code=202, summary="Request verification of a claim (you are the claimant)")
async def request_claim(gw: GatewayDep, caller: BrandOwner, claim: ClaimRequestedInput) -> Any:  # type: ignore[valid-type]
    try:
        claimant = access.acting_as(caller, claim.claimant_organisation_id, "claimant_organisation_id")
    except AccessDenied as exc:
        raise denied(exc) from exc
    message = claim.build(ClaimRequested, caller.actor, gw.runtime.clock.now(), claimant_organisation_id=claimant)
    result = await publish(gw, caller, message, claim, claim_id=claim.claim_id)
    await gw.db[store.CLAIMS].update_one(*store.claim_request_upsert(message), upsert=True)
    return respond({**result, "claim_id": claim.claim_id}, 202)


@router.get("/v1/claims", summary="Your claims and their current status")
async def my_claims(gw: GatewayDep, caller: BrandOwner, status: str | None = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Any:
    query: dict[str, Any] = {} if caller.is_secretariat else {"claimant_organisation_id": caller.organisation_id}
    if status:
        query["status"] = status
    docs = gw.db[store.CLAIMS].find(query).sort([("claimant_organisation_id", 1), ("claim_id", 1)]).limit(limit)
    return respond({"claims": [_view(d) async for d in docs]})


Claimant = Annotated[str | None, Query(
    min_length=1, max_length=120, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$", description="The claimant (the secretariat, when several organisations use this claim id); a brand owner's "
                "claims are always its own")]


async def find_claim(gw: GatewayDep, caller: Principal, claim_id: str, organisation_id: str | None) -> dict[str, Any]:
    """The caller's claim of this id (404 for any other, as for a missing one); for the secretariat the claim of
    `organisation_id`, or the only claim with this id (409 `claim_id_ambiguous` when several owners use it)."""
    if not caller.is_secretariat:
        if organisation_id not in (None, caller.organisation_id):
            raise ApiError(404, "not_found", "no claim of yours has this id")
        organisation_id = caller.organisation_id
    if organisation_id is not None:
        doc = await gw.db[store.CLAIMS].find_one({"_id": store.claim_key(organisation_id, claim_id)})
    else:
        found = [d async for d in gw.db[store.CLAIMS].find({"claim_id": claim_id}).limit(2)]
        if len(found) > 1:
            raise ApiError(409, "claim_id_ambiguous", "several organisations use this claim id: name the claimant "
                           "with ?organisation_id=")
        doc = found[0] if found else None
    if doc is None or not access.may_read_claim(caller, doc.get("claimant_organisation_id", "")):
        raise ApiError(404, "not_found", "no claim of yours has this id")
    return doc


@router.get("/v1/claims/{claim_id}", summary="A claim's status, reasons, evidence and history")
async def claim_status(gw: GatewayDep, caller: BrandOwner, claim_id: str, organisation_id: Claimant = None) -> Any:
    return respond(_view(await find_claim(gw, caller, claim_id, organisation_id)))


@router.post("/v1/claims/{claim_id}/withdraw", status_code=202, summary="Withdraw a request or an approved claim")
async def withdraw(gw: GatewayDep, caller: BrandOwner, claim_id: str, body: Withdrawal,
                   organisation_id: Claimant = None) -> Any:
    doc = await find_claim(gw, caller, claim_id, organisation_id)
    message = ClaimWithdrawn.create(actor=caller.actor, occurred_at=gw.runtime.clock.now(), claim_id=claim_id,
                                    claimant_organisation_id=doc["claimant_organisation_id"], reason=body.reason)
    return respond({**await publish(gw, caller, message, claim_id=claim_id), "claim_id": claim_id}, 202)


@router.post("/v1/claims/{claim_id}/usage", status_code=202,
             summary="Report units that carried an approved claim in a period (its used mass stays spent)")
async def report_usage(gw: GatewayDep, caller: BrandOwner, claim_id: str, body: UsageReport,
                       organisation_id: Claimant = None) -> Any:
    doc = await find_claim(gw, caller, claim_id, organisation_id)
    message = ClaimUsageReported.create(
        actor=caller.actor, occurred_at=gw.runtime.clock.now(), event_id=body.event_id, claim_id=claim_id,
        claimant_organisation_id=doc["claimant_organisation_id"], period_start=body.period_start,
        period_end=body.period_end, units=body.units)
    return respond({**await publish(gw, caller, message, body, claim_id=claim_id), "claim_id": claim_id}, 202)
