"""Certification bodies: audit outcomes and NC closures (as themselves), certificate look-up."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from contracts.audits import AuditOutcomeSubmitted, NonconformityClosed
from contracts.common import Role
from services.gateway.adapters import store
from services.gateway.api.deps import ApiError, Caller, GatewayDep, denied, publish, respond, role
from services.gateway.domain import access
from services.gateway.domain.access import AccessDenied, Principal
from services.gateway.inputs import AuditOutcomeSubmittedInput, NonconformityClosedInput

router = APIRouter(tags=["certification bodies"])
Body_ = Annotated[Principal, role(Role.CERTIFICATION_BODY)]


def _as_body(caller: Principal, given: str | None) -> str:
    try:
        return access.acting_as(caller, given, "certification_body_id")
    except AccessDenied as exc:
        raise denied(exc) from exc


@router.post("/v1/audit-outcomes", status_code=202, summary="Submit an audit outcome as your certification body")
async def audit_outcome(gw: GatewayDep, caller: Body_, outcome: AuditOutcomeSubmittedInput) -> Any:  # type: ignore[valid-type]
    body_id = _as_body(caller, outcome.certification_body_id)
    message = outcome.build(AuditOutcomeSubmitted, caller.actor, gw.runtime.clock.now(), certification_body_id=body_id)
    return respond(await publish(gw, caller, message, outcome, organisation_id_audited=outcome.organisation_id), 202)


@router.post("/v1/nonconformity-closures", status_code=202, summary="Close a finding as your certification body")
async def close_nc(gw: GatewayDep, caller: Body_, closure: NonconformityClosedInput) -> Any:  # type: ignore[valid-type]
    body_id = _as_body(caller, closure.certification_body_id)
    message = closure.build(NonconformityClosed, caller.actor, gw.runtime.clock.now(), certification_body_id=body_id)
    return respond(await publish(gw, caller, message, closure), 202)


async def search(gw: GatewayDep, q: str | None = None, *, limit: int = 50) -> list[dict[str, Any]]:
    """Certificates by number, organisation id or name, or site id (current first)."""
    text = (q or "").strip()
    if not text:
        return []
    names = [d["_id"] async for d in gw.db[store.MEMBERS].find(
        {"name_lower": {"$regex": _escape(text.lower())}}, {"_id": 1}).limit(50)]
    query = {"$or": [{"certificate_number": text.upper()}, {"certificate_number": text}, {"_id": text},
                     {"organisation_id": {"$in": [text, *names]}}, {"site_ids": text}]}
    docs = [d async for d in gw.db[store.CERTIFICATES].find(query).limit(limit)]
    docs.sort(key=lambda d: (d.get("status") not in ("active", "provisional"), d.get("certificate_number", "")))
    return docs


def _escape(text: str) -> str:
    import re

    return re.escape(text)


@router.get("/v1/certificates", summary="Look up certificates by number, organisation or site")
async def certificates(gw: GatewayDep, caller: Caller, q: Annotated[str, Query(min_length=1, max_length=120)]) -> Any:
    return respond({"certificates": [_cert(d) for d in await search(gw, q)]})


@router.get("/v1/certificates/{certificate_id}", summary="One certificate as last published, with its signed form")
async def certificate(gw: GatewayDep, caller: Caller, certificate_id: str) -> Any:
    doc = await gw.db[store.CERTIFICATES].find_one({"$or": [{"_id": certificate_id}, {"certificate_number": certificate_id}]})
    if doc is None:
        raise ApiError(404, "not_found", "no certificate has this id or number")
    return respond(_cert(doc))


def _cert(doc: dict[str, Any]) -> dict[str, Any]:
    return {"certificate": doc.get("certificate"), "signed_certificate": doc.get("signed_certificate"),
            "last_change": doc.get("last_change")}
