"""Product carbon footprints as WBCSD PACT ProductFootprint documents (issue 18 item 5).

A producer submits its footprint in PACT format (`FootprintSubmitted` on `claims.requests.v1`, actor =
the key's organisation); the claims service keeps the latest version and decides carbon-footprint
claims on it (`services/claims/domain/footprints.py`). The gateway keeps every version it saw
(`claim_views.handle_claim_requests`) and gives the latest back in PACT format to its owner, and, for a
CoC Document the footprint was submitted for, to the document's issuer and recipient."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from contracts.claims import FootprintSubmitted, footprint_key
from contracts.common import Identifier, Role
from contracts.pact import ProductFootprint
from services.gateway.adapters import store
from services.gateway.api.deps import ApiError, Caller, GatewayDep, denied, publish, respond, role
from services.gateway.domain import access
from services.gateway.domain.access import AccessDenied, Principal

router = APIRouter(tags=["producers"])
Producer = Annotated[Principal, role(Role.PRODUCER, Role.SECRETARIAT)]

NO_PACT_DATA = (
    "no PACT footprint was submitted for this CoC Document. The document itself carries at most a "
    "footprint figure typed with the shipment (kg CO2e per kg), without what a PACT ProductFootprint "
    "requires (reference period, fossil and biogenic emissions, characterization factors, standards, "
    "boundary, assurance), so none is made up from it: the issuer submits one with "
    "POST /v1/footprints?coc_document_id=..."
)


async def _owner(gw: GatewayDep, caller: Principal, organisation_id: str | None) -> str:
    """The organisation submitting: the caller's own (the secretariat may name a producer)."""
    if caller.is_secretariat and organisation_id:
        return organisation_id
    try:
        return access.acting_as(caller, organisation_id, "organisation_id")
    except AccessDenied as exc:
        raise denied(exc) from exc


@router.post("/v1/footprints", status_code=202,
             summary="Submit a product carbon footprint (a WBCSD PACT v2 ProductFootprint, PACT property names)")
async def submit_footprint(
    gw: GatewayDep, caller: Producer, footprint: ProductFootprint,
    coc_document_id: Annotated[list[Identifier] | None, Query(
        max_length=1000, description="CoC Documents you issued that this is the footprint of (repeat).")] = None,
    organisation_id: Annotated[Identifier | None, Query(
        description="The producer it is submitted for (the secretariat only; default: your own).")] = None,
) -> Any:
    owner = await _owner(gw, caller, organisation_id)
    key = str(footprint.id)
    taken = await gw.db[store.FOOTPRINTS].find_one({"footprint_id": key, "owner": {"$ne": owner}}, {"_id": 1})
    if taken is not None:
        raise ApiError(409, "footprint_id_taken", "this footprint id belongs to another organisation")
    documents = list(dict.fromkeys(coc_document_id or []))
    if documents:
        issued = {d["_id"]: d["issuer_organisation_id"] async for d in gw.db[store.DOCUMENTS].find(
            {"_id": {"$in": documents}}, {"issuer_organisation_id": 1})}
        foreign = [d for d in documents if issued.get(d) != owner]
        if foreign:
            raise ApiError(404, "not_your_document", f"no CoC Document issued by {owner} has the id "
                           f"{', '.join(foreign[:5])}", {"coc_document_ids": foreign})
    message = FootprintSubmitted.create(
        actor=caller.actor, occurred_at=gw.runtime.clock.now(), claim_id=footprint_key(footprint.id),
        producer_organisation_id=owner, footprint=footprint, coc_document_ids=documents)
    result = await publish(gw, caller, message)
    return respond({**result, "footprint_id": key, "version": footprint.version,
                    "producer_organisation_id": owner, "coc_document_ids": documents}, 202)


async def _latest(gw: GatewayDep, query: dict[str, Any], order: list[tuple[str, int]]) -> dict[str, Any] | None:
    return await gw.db[store.FOOTPRINTS].find_one(query, sort=order)


@router.get("/v1/footprints/{footprint_id}",
            summary="Your footprint's latest version, as the WBCSD PACT ProductFootprint you submitted")
async def footprint(gw: GatewayDep, caller: Producer, footprint_id: UUID) -> Any:
    query: dict[str, Any] = {"footprint_id": str(footprint_id)}
    if not caller.is_secretariat:
        query["owner"] = caller.organisation_id
    doc = await _latest(gw, query, [("version", -1), ("submitted_at", 1)])
    if doc is None:
        raise ApiError(404, "not_found", "no footprint of yours has this id")
    return respond(stored_document(doc))


@router.get("/v1/documents/{document_id}/footprint",
            summary="The footprint of a CoC Document in WBCSD PACT format (its issuer's, if submitted for it)")
async def document_footprint(gw: GatewayDep, caller: Caller, document_id: str) -> Any:
    d = await gw.db[store.DOCUMENTS].find_one({"_id": document_id}, {"issuer_organisation_id": 1,
                                                                     "recipient_organisation_id": 1})
    if d is None or not access.may_read_document(caller, d["issuer_organisation_id"], d["recipient_organisation_id"]):
        raise ApiError(404, "not_found", "no CoC Document of yours has this id")
    # the footprint version its issuer submitted for it last
    doc = await _latest(gw, {"coc_document_ids": document_id, "owner": d["issuer_organisation_id"]},
                        [("submitted_at", -1), ("version", -1)])
    if doc is None:
        raise ApiError(404, "no_footprint", NO_PACT_DATA)
    return respond(stored_document(doc))


def stored_document(doc: dict[str, Any]) -> Any:
    """The PACT document of a stored footprint: kept as JSON text (any key survives), or as an object
    when stored before that."""
    document = doc["document"]
    return json.loads(document) if isinstance(document, str) else document
