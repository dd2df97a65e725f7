"""EPCIS 2.0 capture as the standard's REST binding describes it (`POST /epcis/capture` answers 202 and
the capture job's address; `GET /epcis/capture/{captureID}` reads the job), and the registry of GS1
identifiers the captured documents' SGLNs, PGLNs, SGTINs, LGTINs and Digital Links are mapped with.

The job is finished by the time the 202 is sent (mapping and publishing one document takes milliseconds);
what became of each published plant event afterwards is read at `GET /v1/submissions/{event_id}`."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator
from pymongo.errors import DuplicateKeyError

from contracts.common import MaterialCategory, Role
from services.gateway.adapters import store
from services.gateway.api.deps import ApiError, GatewayDep, StrictBody, as_json, loads_exact, respond, role
from services.gateway.api.producers import EPCIS_BODY, ItemResult, prepare_items, publish_items
from services.gateway.domain import access, epcis, gs1
from services.gateway.domain.access import AccessDenied, Principal

router = APIRouter(tags=["EPCIS 2.0"])
Producer = Annotated[Principal, role(Role.PRODUCER, Role.SECRETARIAT)]

EPCIS_HEADERS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}

EXCEPTION_OF = {  # reason code -> EPCIS 2.0 exception type and HTTP status (EPCIS 2.0 section 12.3)
    "site_not_yours": ("SecurityException", 403),
    "epcis_unsupported": ("ImplementationException", 501),
    "conflict": ("ValidationException", 409),
}


def _only(*given: str) -> dict[str, Any]:
    others = [name for name in ("site_id", "organisation_id", "material_category", "product_form") if name not in given]
    return {"required": list(given), "not": {"anyOf": [{"required": [name]} for name in others]}}


_TEXT = {"type": "string", "minLength": 1, "maxLength": 120}


class Gs1Registration(StrictBody):
    """What a GS1 identifier stands for: one of a site, a party (organisation) or a product."""

    # The schema says what `one_meaning` checks: exactly one meaning, its fields not null.
    model_config = ConfigDict(json_schema_extra={"oneOf": [
        _only("site_id"), _only("organisation_id"), _only("material_category", "product_form")]})

    identifier: str = Field(min_length=1, max_length=300, description=(
        "An SGLN, PGLN, SGTIN, LGTIN, SGTIN pattern or GS1 Digital Link URI, or bare GLN (13) / GTIN (8, 12, 13, "
        "14) digits."))
    site_id: Annotated[str | None, WithJsonSchema(_TEXT)] = Field(default=None, min_length=1, max_length=120,
                                description="The registered site a GLN names (yours, unless you are the secretariat).")
    organisation_id: Annotated[str | None, WithJsonSchema(_TEXT)] = Field(default=None, min_length=1, max_length=120,
                                        description="The organisation a party GLN names (yours, unless secretariat).")
    material_category: Annotated[MaterialCategory | None, WithJsonSchema(
        {"type": "string", "enum": [c.value for c in MaterialCategory]})] = Field(default=None, description="What a GTIN's material is.")
    product_form: Annotated[str | None, WithJsonSchema({**_TEXT, "pattern": r"^[A-Za-z0-9_.:-]+$"})] = Field(
                                     default=None, min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_.:-]+$",
                                     description="The product form of a GTIN (e.g. ingot, coil, bales).")

    @model_validator(mode="after")
    def one_meaning(self) -> Gs1Registration:
        meanings = [self.site_id is not None, self.organisation_id is not None,
                    self.material_category is not None or self.product_form is not None]
        if sum(meanings) != 1:
            raise ValueError("give exactly one of site_id, organisation_id, or material_category with product_form")
        if meanings[2] and (self.material_category is None or self.product_form is None):
            raise ValueError("a product needs both material_category and product_form")
        return self

    @property
    def kind(self) -> Literal["site", "party", "product"]:
        return "site" if self.site_id is not None else "party" if self.organisation_id is not None else "product"


@router.post("/v1/gs1-identifiers", summary="Register what a GS1 identifier (GLN or GTIN) stands for, for EPCIS capture")
async def register_gs1(gw: GatewayDep, caller: Producer, registration: Gs1Registration) -> Any:
    number = _gs1_number(registration)
    kind = registration.kind
    fields = await _meaning(gw, caller, registration)
    key = store.gs1_id(kind, number.number, caller.organisation_id)
    existing = await gw.db[store.GS1].find_one({"_id": key})
    if existing is not None and existing["registered_by"] != caller.organisation_id and not caller.is_secretariat:
        raise ApiError(409, "gs1_registered_elsewhere", f"{kind} {number.number} is registered by another organisation")
    owner = existing["registered_by"] if existing else caller.organisation_id
    entry = {"kind": kind, "number": number.number, "identifier": registration.identifier, **fields,
             "registered_by": owner, "registered_at": gw.runtime.clock.now()}
    try:  # keyed on the owner too: another organisation registering the same GLN at once cannot take it over
        await gw.db[store.GS1].update_one({"_id": key, "registered_by": owner}, {"$set": entry}, upsert=True)
    except DuplicateKeyError as exc:
        raise ApiError(409, "gs1_registered_elsewhere", f"{kind} {number.number} was just registered by another "
                       "organisation") from exc
    return respond(entry)


def _gs1_number(registration: Gs1Registration) -> gs1.Gs1Id:
    """The identifier as a GS1 number of the kind its meaning needs: a GLN for a site or a party, a
    GTIN for a product (422 otherwise)."""
    try:
        number = gs1.parse(registration.identifier)
    except gs1.NotGs1 as exc:
        raise ApiError(422, "gs1_invalid", str(exc)) from exc
    if (number.kind == "gtin") != (registration.kind == "product"):
        raise ApiError(422, "gs1_kind_mismatch", f"{registration.identifier} is a {number.kind.upper()}: a GLN names a "
                       "site or a party, a GTIN names a product")
    return number


async def _meaning(gw: GatewayDep, caller: Principal, registration: Gs1Registration) -> dict[str, Any]:
    """What the identifier stands for, as stored: one of the caller's sites (with its owner), the
    caller's organisation (any, for the secretariat), or a product."""
    if registration.site_id is not None:
        owners = await store.site_owners(gw.db, [registration.site_id])
        try:
            access.require_own_site(caller, registration.site_id, owners)
        except AccessDenied as exc:
            raise ApiError(exc.status, exc.code, exc.message) from exc
        if registration.site_id not in owners:
            raise ApiError(404, "not_found", f"no registered site has the id {registration.site_id!r}")
        return {"site_id": registration.site_id, "organisation_id": owners[registration.site_id]}
    if registration.organisation_id is not None:
        if registration.organisation_id != caller.organisation_id and not caller.is_secretariat:
            raise ApiError(403, "not_your_organisation", "a party GLN can be registered for your own organisation only")
        return {"organisation_id": registration.organisation_id}
    return {"material_category": registration.material_category.value if registration.material_category else None,
            "product_form": registration.product_form}


@router.get("/v1/gs1-identifiers", summary="The GS1 identifiers your organisation registered")
async def my_gs1(gw: GatewayDep, caller: Producer, limit: Annotated[int, Query(ge=1, le=1000)] = 500) -> Any:
    docs = gw.db[store.GS1].find({"registered_by": caller.organisation_id}).sort("_id", 1).limit(limit)
    return respond({"identifiers": [d async for d in docs]})


def _job_errors(results: list[ItemResult], events: list[Any]) -> list[dict[str, Any]]:
    errors = []
    for r in results:
        if r.error is None:
            continue
        kind, status = EXCEPTION_OF.get(r.error["code"], ("ValidationException", 400))
        event = events[r.index] if r.index < len(events) else None
        errors.append({"type": f"epcisException:{kind}", "title": r.error["message"], "status": status,
                       "code": r.error["code"], "eventIndex": r.index,
                       "eventID": event.get("eventID") if isinstance(event, dict) else None,
                       **({"details": r.error["details"]} if r.error.get("details") else {})})
    return errors


class CaptureError(BaseModel):
    type: str = Field(description="EPCIS 2.0 exception type, e.g. `epcisException:ValidationException`.")
    title: str = Field(description="What is wrong, naming the identifier or field.")
    status: int = Field(description="The HTTP status this error would have on its own.")
    code: str = Field(description="Reason code: epcis_unknown_identifier, epcis_invalid, epcis_unsupported, ...")
    eventIndex: int = Field(description="Position of the event in `epcisBody.eventList`.")  # noqa: N815
    eventID: str | None = Field(default=None, description="The event's `eventID`, where it has one.")  # noqa: N815


class CaptureJob(BaseModel):
    """A capture job (EPCIS 2.0 REST binding), with the outcome of each event."""

    captureID: str  # noqa: N815 - the binding's names
    createdAt: str  # noqa: N815
    finishedAt: str | None = None  # noqa: N815
    running: bool
    success: bool = Field(description="True when every event was published.")
    captureErrorBehaviour: Literal["rollback", "proceed"]  # noqa: N815
    errors: list[CaptureError]
    events: list[ItemResult] = Field(description="Per event: accepted (with its event id) or refused (with why).")


CAPTURE_RESPONSES: dict[int | str, dict[str, Any]] = {202: {
    "description": "Capture job created (and finished): read it at the `Location` header's address.",
    "headers": {"Location": {"description": "`/epcis/capture/{captureID}`", "schema": {"type": "string"}}}}}


@router.post("/epcis/capture", status_code=202, openapi_extra=EPCIS_BODY, responses=CAPTURE_RESPONSES,
             response_model=CaptureJob,
             summary="EPCIS 2.0 capture: a JSON-LD EPCISDocument; answers 202 and the capture job's address")
async def capture(gw: GatewayDep, caller: Producer, request: Request,
                  behaviour: Annotated[Literal["rollback", "proceed"], Header(
                      alias="GS1-Capture-Error-Behaviour", description=(
                          "rollback (default): one refused event publishes none of the document; "
                          "proceed: the others are published"))] = "rollback") -> Any:
    document = loads_exact(await request.body())
    try:
        events = epcis.events_of_document(document)
        registry = await store.gs1_registry(gw.db, epcis.gs1_numbers(document), caller.organisation_id)
        mapped = epcis.map_document(document, caller.organisation_id, registry)
    except ValueError as exc:
        raise ApiError(400, "epcis_invalid", str(exc)) from exc
    refused = [ItemResult(index=m.index, status="refused", error={"code": m.code, "message": m.message})
               for m in mapped if m.body is None]
    created_at = gw.runtime.clock.now()
    ready = await prepare_items(gw, caller, [(m.index, m.body) for m in mapped if m.body is not None], refused)
    if refused and behaviour == "rollback":
        held_back = [ItemResult(index=i, status="refused", error={
            "code": "rolled_back", "message": "not published: another event of the document was refused and "
            "GS1-Capture-Error-Behaviour is rollback"}) for i, _ in ready]
        results = sorted(refused + held_back, key=lambda r: r.index)
        errors = _job_errors(refused, events)
    else:
        results = (await publish_items(gw, caller, ready, refused)).results
        errors = _job_errors(results, events)
    capture_id = uuid.uuid4().hex
    job = {"captureID": capture_id, "createdAt": created_at, "finishedAt": gw.runtime.clock.now(), "running": False,
           "success": not errors, "captureErrorBehaviour": behaviour, "errors": errors,
           "events": [r.model_dump(exclude_none=True) for r in results]}
    await gw.db[store.CAPTURE_JOBS].insert_one({"_id": capture_id, "organisation_id": caller.organisation_id, **job})
    return JSONResponse(as_json(job), status_code=202,
                        headers={"Location": f"/epcis/capture/{capture_id}", **EPCIS_HEADERS})


@router.get("/epcis/capture", summary="EPCIS 2.0: your capture jobs, newest first")
async def capture_jobs(gw: GatewayDep, caller: Producer, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Any:
    docs = gw.db[store.CAPTURE_JOBS].find({"organisation_id": caller.organisation_id}, {"organisation_id": 0})
    return respond({"captureJobs": [d async for d in docs.sort("createdAt", -1).limit(limit)]})


@router.get("/epcis/capture/{captureID}", response_model=CaptureJob, summary="EPCIS 2.0: one capture job (running, success, per-event errors)")
async def capture_job(gw: GatewayDep, caller: Producer, captureID: str) -> Any:  # noqa: N803 - the binding's name
    doc = await gw.db[store.CAPTURE_JOBS].find_one({"_id": captureID})
    if doc is None or (doc["organisation_id"] != caller.organisation_id and not caller.is_secretariat):
        raise ApiError(404, "not_found", "no capture job of yours has this id")
    return JSONResponse(as_json({k: v for k, v in doc.items() if k != "organisation_id"}), headers=EPCIS_HEADERS)
