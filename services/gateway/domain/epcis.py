"""EPCIS 2.0 JSON-LD capture documents mapped onto the plant-event contracts (a documented subset).

* `ObjectEvent` with bizStep `receiving` -> `material_received`; with bizStep `shipping` -> `material_shipped`.
* `TransformationEvent` -> `material_transformed`.
* Sites and organisations: `urn:asi:site:<site id>` and `urn:asi:org:<organisation id>` (a bare id also works),
  or GS1 identifiers (SGLN, PGLN, Digital Link 414/417) registered in the gateway (`Gs1Registry`).
* Material: `epcClass` = `urn:asi:class:<material category>:<product form>`, or a registered GS1 product
  (SGTIN, LGTIN, an SGTIN pattern, Digital Link 01). An unregistered GS1 identifier refuses its event
  (`epcis_unknown_identifier`), never the document.
* Quantities: `quantity` with `uom` KGM, TNE or LBR (read exactly: JSON numbers are never floats here).
* ASI fields EPCIS lacks are extension fields with the `asi:` prefix (see `services/gateway/README.md`).
* Event ids: `eventID` `urn:uuid:<uuid>` is used as is; any other eventID (or none) gives a deterministic
  id from the organisation and the event, so sending a document twice submits nothing new.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from services.gateway.domain import gs1

EPCIS_NAMESPACE = uuid.UUID("0b7d6c53-6f8e-4f4e-9d7a-5a3c1e2f9b10")
UNITS = {"KGM": "kg", "TNE": "t", "LBR": "lb"}
UNKNOWN = "epcis_unknown_identifier"
MAX_ADJUSTED = 15
MIN_EXPONENT = -30
"""Bounds of a number read from a document: no mass or footprint reaches 10^16, and none is finer than 10^-30."""


@dataclass(frozen=True)
class Gs1Registry:
    """What the GS1 numbers of one document stand for on the platform (keys: 13-digit GLN, 14-digit GTIN)."""

    sites: dict[str, str] = field(default_factory=dict)
    site_owners: dict[str, str] = field(default_factory=dict)
    parties: dict[str, str] = field(default_factory=dict)
    products: dict[str, tuple[str, str]] = field(default_factory=dict)


NO_REGISTRY = Gs1Registry()


@dataclass(frozen=True)
class Mapped:
    """One EPCIS event: the plant-event body it maps to, or why it could not be mapped."""

    index: int
    body: dict[str, Any] | None = None
    code: str | None = None
    message: str | None = None


class _Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def events_of(document: Any) -> list[Any]:
    if not isinstance(document, dict):
        raise _Refused("epcis_invalid", "an EPCIS document is a JSON object")
    if document.get("type") not in ("EPCISDocument", None):
        raise _Refused("epcis_invalid", "only EPCISDocument capture documents are accepted")
    body = document.get("epcisBody")
    events = body.get("eventList") if isinstance(body, dict) else None
    if not isinstance(events, list):
        raise _Refused("epcis_invalid", "the document has no epcisBody.eventList")
    return events


def events_of_document(document: Any) -> list[Any]:
    """The events of a capture document; raises ValueError if the document itself is malformed."""
    try:
        return events_of(document)
    except _Refused as exc:
        raise ValueError(exc.message) from exc


def map_document(document: Any, organisation_id: str, registry: Gs1Registry = NO_REGISTRY) -> list[Mapped]:
    """Map every event of a capture document; raises ValueError if the document itself is malformed."""
    try:
        events = events_of(document)
    except _Refused as exc:
        raise ValueError(exc.message) from exc
    return [map_event(i, event, organisation_id, registry) for i, event in enumerate(events)]


def gs1_numbers(document: Any) -> set[str]:
    """Every well-formed GS1 number (GLN or GTIN) the document's events name where a site, a party or a
    product is expected: what to look up before mapping it."""
    try:
        events = events_of(document)
    except _Refused:
        return set()
    found: set[str] = set()
    for event in events:
        if not isinstance(event, dict):
            continue
        for text in _identifier_texts(event):
            if isinstance(text, str) and gs1.looks_like_gs1(text):
                try:
                    found.add(gs1.parse(text).number)
                except gs1.NotGs1:
                    pass  # the mapping refuses the event and says why
    return found


def _identifier_texts(event: dict[str, Any]) -> list[Any]:
    """What an event names where a site (bizLocation, readPoint), a party (source and destination
    lists) or a product (the quantity lists' epcClass) is expected."""
    texts = [event.get(h, {}).get("id") for h in ("bizLocation", "readPoint") if isinstance(event.get(h), dict)]
    for list_name, key in (("sourceList", "source"), ("destinationList", "destination")):
        texts += [e.get(key) for e in _list(event.get(list_name)) if isinstance(e, dict)]
    for list_name in ("quantityList", "inputQuantityList", "outputQuantityList"):
        texts += [e.get("epcClass") for e in _list(event.get(list_name)) if isinstance(e, dict)]
    return texts


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def map_event(index: int, event: Any, organisation_id: str, registry: Gs1Registry = NO_REGISTRY) -> Mapped:
    try:
        if not isinstance(event, dict):
            raise _Refused("epcis_invalid", "an event is a JSON object")
        kind = event.get("type")
        if kind == "ObjectEvent":
            step = _vocab(event.get("bizStep"))
            if step == "receiving":
                body = _received(event, registry)
            elif step == "shipping":
                body = _shipped(event, registry)
            else:
                raise _Refused("epcis_unsupported", f"ObjectEvent bizStep {event.get('bizStep')!r} is not mapped "
                               "(receiving and shipping are)")
        elif kind == "TransformationEvent":
            body = _transformed(event, registry)
        else:
            raise _Refused("epcis_unsupported", f"event type {kind!r} is not mapped (ObjectEvent and "
                           "TransformationEvent are)")
        body["event_id"] = str(_event_id(event, organisation_id))
        body["occurred_at"] = _time(event).isoformat()
        if event.get("asi:correctsEventId"):
            body["corrects_event_id"] = event["asi:correctsEventId"]
        return Mapped(index, body=body)
    except _Refused as exc:
        return Mapped(index, code=exc.code, message=exc.message)


def _received(event: dict[str, Any], registry: Gs1Registry) -> dict[str, Any]:
    [line] = _lines(event.get("quantityList"), "quantityList", registry, single=True)
    body = {
        "type": "material_received",
        "site_id": _site(event, registry),
        "received_on": _local_date(event),
        "supplier_organisation_id": _party(event.get("sourceList"), "source", "owning_party", registry, required=True),
        "supplier_site_id": _party(event.get("sourceList"), "source", "location", registry),
        **line,
    }
    for field, key in (("coc_document_id", "asi:cocDocumentId"), ("due_diligence_reference", "asi:dueDiligenceReference"),
                       ("due_diligence_status", "asi:dueDiligenceStatus")):
        if event.get(key) is not None:
            body[field] = event[key]
    return body


def _shipped(event: dict[str, Any], registry: Gs1Registry) -> dict[str, Any]:
    [line] = _lines(event.get("quantityList"), "quantityList", registry, single=True)
    reference = event.get("asi:shipmentReference") or _biz_transaction(event)
    if not reference:
        raise _Refused("epcis_invalid", "a shipping event needs a bizTransactionList entry or asi:shipmentReference")
    body = {
        "type": "material_shipped",
        "site_id": _site(event, registry),
        "shipped_on": _local_date(event),
        "customer_organisation_id": _party(event.get("destinationList"), "destination", "owning_party", registry,
                                           required=True),
        "customer_site_id": _party(event.get("destinationList"), "destination", "location", registry),
        "coc_quantity": _decimal(event.get("asi:cocQuantity", "0"), "asi:cocQuantity"),
        "shipment_reference": reference,
        **line,
    }
    if event.get("asi:carbonFootprint") is not None:
        body["carbon_footprint_kg_co2e_per_kg"] = _decimal(event["asi:carbonFootprint"], "asi:carbonFootprint")
    return body


def _transformed(event: dict[str, Any], registry: Gs1Registry) -> dict[str, Any]:
    step = event.get("asi:processStep")
    if not step:
        raise _Refused("epcis_invalid", "a TransformationEvent needs asi:processStep (e.g. remelting, casting)")
    return {
        "type": "material_transformed",
        "site_id": _site(event, registry),
        "transformed_on": _local_date(event),
        "process_step": step,
        "inputs": _lines(event.get("inputQuantityList"), "inputQuantityList", registry),
        "outputs": _lines(event.get("outputQuantityList"), "outputQuantityList", registry),
    }


def _vocab(value: Any) -> str:
    """The bare CBV term of a short name, a URN or a web URI: `urn:epcglobal:cbv:bizstep:receiving`,
    `https://ref.gs1.org/cbv/BizStep-receiving` and `receiving` all give `receiving`."""
    last = str(value or "").replace("/", ":").rsplit(":", 1)[-1]
    return last.split("-", 1)[-1].lower() if "-" in last else last.lower()


def _strip(value: Any, prefix: str) -> str:
    text = str(value or "").strip()
    return text.removeprefix(prefix)


def _gs1(text: str, where: str) -> str:
    try:
        return gs1.parse(text).number
    except gs1.NotGs1 as exc:
        raise _Refused("epcis_invalid", f"{where}: {exc}") from exc


def _unknown(where: str, text: str, number: str, what: str) -> _Refused:
    return _Refused(UNKNOWN, f"{where} {text} (GS1 {number}) is not registered as {what}: register it with "
                    "POST /v1/gs1-identifiers")


def _site_of(text: Any, where: str, registry: Gs1Registry) -> str:
    value = str(text or "").strip()
    if not gs1.looks_like_gs1(value):
        return _strip(value, "urn:asi:site:")
    number = _gs1(value, where)
    if number not in registry.sites:
        raise _unknown(where, value, number, "a site")
    return registry.sites[number]


def _organisation_of(text: Any, where: str, registry: Gs1Registry) -> str:
    value = str(text or "").strip()
    if not gs1.looks_like_gs1(value):
        return _strip(value, "urn:asi:org:")
    number = _gs1(value, where)
    owner = registry.parties.get(number) or registry.site_owners.get(number)
    if owner is None:
        raise _unknown(where, value, number, "a party (or a site of one)")
    return owner


def _site(event: dict[str, Any], registry: Gs1Registry) -> str:
    for holder in ("bizLocation", "readPoint"):
        location = event.get(holder)
        if isinstance(location, dict) and location.get("id"):
            return _site_of(location["id"], f"{holder}.id", registry)
    raise _Refused("epcis_invalid", "the event needs a bizLocation (or readPoint) id: an SGLN or urn:asi:site:<site id>")


PARTY_TYPES = ("owning_party", "possessing_party")
"""Who the supplier or customer is: the owning party, else the possessing party (CBV 2.0 section 8.3)."""


def _party(entries: Any, field: str, kind: str, registry: Gs1Registry, *, required: bool = False) -> str | None:
    list_name = "sourceList" if field == "source" else "destinationList"
    kinds = PARTY_TYPES if kind == "owning_party" else (kind,)
    found = _first_of_kind(entries, field, kinds)
    if found is not None:
        wanted, value = found
        where = f"{list_name} {wanted}"
        if kind == "owning_party":
            return _organisation_of(value, where, registry)
        return _site_of(value, where, registry) or None
    if required:
        raise _Refused("epcis_invalid", f"{list_name} needs an owning_party (or possessing_party) entry: a PGLN, "
                       "an SGLN or urn:asi:org:<organisation id>")
    return None


def _first_of_kind(entries: Any, field: str, kinds: tuple[str, ...]) -> tuple[str, Any] | None:
    """(type, value) of the first source or destination entry of the first of `kinds` present."""
    typed = [e for e in _list(entries) if isinstance(e, dict)]
    for wanted in kinds:
        for entry in typed:
            if _vocab(entry.get("type")) == wanted and entry.get(field):
                return wanted, entry[field]
    return None


def _biz_transaction(event: dict[str, Any]) -> str | None:
    for entry in _list(event.get("bizTransactionList")):
        if isinstance(entry, dict) and entry.get("bizTransaction"):
            return _strip(entry["bizTransaction"], "urn:asi:ref:")
    return None


def _lines(entries: Any, name: str, registry: Gs1Registry, *, single: bool = False) -> list[dict[str, Any]]:
    if not isinstance(entries, list) or not entries:
        raise _Refused("epcis_invalid", f"{name} must list at least one quantity")
    if single and len(entries) != 1:
        raise _Refused("epcis_invalid", f"{name} must hold exactly one quantity (send one event per material)")
    lines = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise _Refused("epcis_invalid", f"{name} entries are objects")
        category, form = _material(entry.get("epcClass"), name, registry)
        unit = UNITS.get(str(entry.get("uom") or "").upper())
        if unit is None:
            raise _Refused("epcis_invalid", f"{name}: uom must be one of {', '.join(UNITS)}")
        lines.append({"material_category": category, "product_form": form,
                      "quantity": _decimal(entry.get("quantity"), f"{name}.quantity"), "unit": unit})
    return lines


def _material(epc_class: Any, name: str, registry: Gs1Registry) -> tuple[str, str]:
    value = str(epc_class or "").strip()
    if gs1.looks_like_gs1(value):
        number = _gs1(value, f"{name}.epcClass")
        if number not in registry.products:
            raise _unknown(f"{name}.epcClass", value, number, "a product")
        return registry.products[number]
    category, _, form = _strip(value, "urn:asi:class:").partition(":")
    if not category or not form:
        raise _Refused("epcis_invalid", f"{name}: epcClass must be a registered GS1 product (LGTIN, SGTIN, Digital "
                       "Link) or urn:asi:class:<material category>:<product form>")
    return category, form


def _decimal(value: Any, field: str) -> str:
    if isinstance(value, bool) or value is None:
        raise _Refused("epcis_invalid", f"{field} must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise _Refused("epcis_invalid", f"{field} must be a number") from exc
    if not number.is_finite():
        raise _Refused("epcis_invalid", f"{field} must be a finite number")
    if number and not (MIN_EXPONENT <= number.as_tuple().exponent and number.adjusted() <= MAX_ADJUSTED):
        raise _Refused("epcis_invalid", f"{field} is out of range (1e{MAX_ADJUSTED + 1} or more, or finer than "
                       f"1e{MIN_EXPONENT})")  # `1e999999999` would be written out as a billion digits
    return format(number, "f")


def _time(event: dict[str, Any]) -> datetime:
    try:
        moment = datetime.fromisoformat(str(event.get("eventTime")))
    except ValueError as exc:
        raise _Refused("epcis_invalid", "eventTime must be an ISO 8601 date-time with its offset") from exc
    if moment.tzinfo is None:
        raise _Refused("epcis_invalid", "eventTime must carry its offset (e.g. 2026-05-01T08:00:00Z)")
    return moment


def _local_date(event: dict[str, Any]) -> str:
    """The business date where the event happened: eventTime shifted to eventTimeZoneOffset."""
    moment = _time(event).astimezone(UTC)
    offset = str(event.get("eventTimeZoneOffset") or "+00:00")
    try:
        sign = {"+": 1, "-": -1}[offset[0]]
        hours, minutes = offset[1:].split(":")
        shift = sign * timedelta(hours=int(hours), minutes=int(minutes))
    except (KeyError, IndexError, ValueError) as exc:
        raise _Refused("epcis_invalid", "eventTimeZoneOffset must look like +02:00") from exc
    return (moment + shift).date().isoformat()


def _event_id(event: dict[str, Any], organisation_id: str) -> uuid.UUID:
    given = event.get("eventID")
    if isinstance(given, str) and given.lower().startswith("urn:uuid:"):
        try:
            return uuid.UUID(given[9:])
        except ValueError as exc:
            raise _Refused("epcis_invalid", "eventID urn:uuid:... must hold a UUID") from exc
    name = given if isinstance(given, str) and given else hashlib.sha256(
        json.dumps(event, sort_keys=True, default=str).encode()).hexdigest()
    return uuid.uuid5(EPCIS_NAMESPACE, f"{organisation_id}:{name}")
