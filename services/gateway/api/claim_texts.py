"""The secretariat's claim settings on `claims.requests.v1` (actor = the secretariat's key): approved
claim texts (issue 18 item 2: a version of a template per claim type and language, `ClaimTextPublished`;
brand owners read them to quote `text_id` and `text_version` in a claim request) and claim type statuses
(item 3: enabled, pilot or off, `ClaimTypeStatusSet`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from contracts.claims import ClaimTextPublished, ClaimType, ClaimTypeStatus, ClaimTypeStatusSet
from contracts.common import Identifier, Role, Text
from services.gateway.api.deps import GatewayDep, StrictBody, publish, respond, role
from services.gateway.domain.access import Principal

router = APIRouter(tags=["secretariat"])
Secretariat = Annotated[Principal, role(Role.SECRETARIAT)]
Reader = Annotated[Principal, role(Role.SECRETARIAT, Role.BRAND_OWNER)]
TEXTS = "claim_texts"


class TextVersion(StrictBody):
    text_id: Identifier = Field(description="The text's id, stable across versions.")
    version: int = Field(ge=1, description="Version; a new one supersedes the earlier ones.")
    claim_type: ClaimType = Field(description="Claim type the text is for.")
    language: str = Field(min_length=2, max_length=12, description="Language tag, e.g. en, de.")
    template: Text = Field(description="The wording with placeholders {certificate_number} and {link}.")
    auto_approve: bool = Field(default=False, description="Approve requests using this version without review.")


@router.post("/v1/claim-texts", status_code=202, summary="Publish a version of an approved claim text")
async def publish_text(gw: GatewayDep, caller: Secretariat, body: TextVersion) -> Any:
    message = ClaimTextPublished.create(actor=caller.actor, occurred_at=gw.runtime.clock.now(),
                                        claim_id=f"text:{body.text_id}", **body.model_dump())
    return respond({**await publish(gw, caller, message), "text_id": body.text_id, "version": body.version}, 202)


@router.get("/v1/claim-texts", summary="Approved claim texts, every version (filter by claim type and language)")
async def list_texts(gw: GatewayDep, caller: Reader, claim_type: ClaimType | None = None,
                     language: Annotated[str | None, Query(max_length=12)] = None) -> Any:
    query: dict[str, Any] = {}
    if claim_type:
        query["claim_type"] = claim_type.value
    if language:
        query["language"] = language
    docs = gw.db[TEXTS].find(query, {"_id": 0}).sort([("text_id", 1), ("version", 1)]).limit(1000)
    return respond({"texts": [d async for d in docs]})


class TypeStatus(StrictBody):
    status: ClaimTypeStatus = Field(description="enabled, pilot (decided and recorded, not an ASI claim) or off.")


@router.put("/v1/claim-types/{claim_type}", status_code=202,
            summary="Set a claim type enabled, pilot or off (for requests from now on)")
async def set_type_status(gw: GatewayDep, caller: Secretariat, claim_type: ClaimType, body: TypeStatus) -> Any:
    message = ClaimTypeStatusSet.create(actor=caller.actor, occurred_at=gw.runtime.clock.now(),
                                        claim_id=f"type:{claim_type.value}", claim_type=claim_type, status=body.status)
    return respond({**await publish(gw, caller, message), "claim_type": claim_type.value,
                    "status": body.status.value}, 202)
