"""How a claim, an approved text and a PACT footprint are stored in MongoDB (`adapters/store.py`):
the claim's state as a document and back, exact Decimals kept as Decimal128 (`libs.mongo`)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from contracts.claims import ClaimRequested, Evidence
from contracts.pact import ProductFootprint
from services.claims.domain.checks import Allocation
from services.claims.domain.effects import Status
from services.claims.domain.footprints import Footprint
from services.claims.domain.saga import Claim
from services.claims.domain.texts import ApprovedText


def claim_from(doc: dict[str, Any]) -> Claim:
    allocation = doc.get("allocation")
    return Claim(
        request=ClaimRequested.model_validate(doc["request"]),
        request_hash=doc["request_hash"],
        status=Status(doc["status"]),
        decide_by=doc.get("decide_by"),
        allocation_held=doc.get("allocation_held", False),
        allocation=Allocation(
            mass_kg=allocation["mass_kg"],
            account_ids=tuple(allocation["account_ids"]),
            document_ids=tuple(allocation["document_ids"]),
            recycled_content_share=allocation.get("recycled_content_share"),
            recycled_pre_consumer_share=allocation.get("recycled_pre_consumer_share"),
            recycled_post_consumer_share=allocation.get("recycled_post_consumer_share"),
            carbon_footprint_kg_co2e_per_kg=allocation.get("carbon_footprint_kg_co2e_per_kg"),
        )
        if allocation
        else None,
        certificate_ids=list(doc.get("certificate_ids", [])),
        approval_code=doc.get("approval_code"),
        valid_until=date.fromisoformat(doc["valid_until"]) if doc.get("valid_until") else None,
        evidence=Evidence.model_validate(doc["evidence"]) if doc.get("evidence") else None,
        usage={k: int(v) for k, v in doc.get("usage", [])},
        returned_kg=doc.get("returned_kg"),
        awaiting_since=doc.get("awaiting_since"),
        pilot=doc.get("pilot", False),
        version=doc["version"],
    )


def state_of(claim: Claim, now: datetime) -> dict[str, Any]:
    allocation = claim.allocation
    return {
        "status": claim.status.value,
        "decide_by": claim.decide_by,
        "allocation_held": claim.allocation_held,
        "allocation": {
            "mass_kg": allocation.mass_kg,
            "account_ids": list(allocation.account_ids),
            "document_ids": list(allocation.document_ids),
            "recycled_content_share": allocation.recycled_content_share,
            "recycled_pre_consumer_share": allocation.recycled_pre_consumer_share,
            "recycled_post_consumer_share": allocation.recycled_post_consumer_share,
            "carbon_footprint_kg_co2e_per_kg": allocation.carbon_footprint_kg_co2e_per_kg,
        }
        if allocation
        else None,
        "certificate_ids": claim.certificate_ids,
        "approval_code": claim.approval_code,
        "valid_until": claim.valid_until.isoformat() if claim.valid_until else None,
        "evidence": claim.evidence.model_dump(mode="json") if claim.evidence else None,
        "usage": [[k, v] for k, v in sorted(claim.usage.items())],
        "approved_kg": claim.approved_kg,
        "used_units": claim.used.used_units,
        "used_kg": claim.used.used_kg if claim.approved_kg is not None else None,
        "returned_kg": claim.returned_kg,
        "awaiting_since": claim.awaiting_since,
        "pilot": claim.pilot,
        "version": claim.version,
        "updated_at": now,
    }


def text_document(text: ApprovedText) -> dict[str, Any]:
    return {
        "_id": f"{text.text_id}:{text.version}",
        "text_id": text.text_id,
        "version": text.version,
        "claim_type": text.claim_type.value,
        "language": text.language,
        "template": text.template,
        "auto_approve": text.auto_approve,
    }


def footprint_document(footprint: Footprint) -> dict[str, Any]:
    """A PACT footprint's latest version, as submitted (PACT property names), with its owner."""
    return {
        "_id": str(footprint.footprint_id),
        "owner": footprint.owner,
        "version": footprint.version,
        "submitted_at": footprint.submitted_at,
        "coc_document_ids": list(footprint.coc_document_ids),
        # As JSON text: a PACT document may carry any key (an extension's data), and MongoDB
        # refuses keys with a NUL byte or a leading '$'; text stores whatever the contract accepted.
        "document": json.dumps(footprint.document.document(), separators=(",", ":")),
    }


def footprint_from(doc: dict[str, Any]) -> Footprint:
    return Footprint(
        ProductFootprint.model_validate_json(doc["document"])
        if isinstance(doc["document"], str)
        else ProductFootprint.model_validate(doc["document"]),  # stored before the text form
        doc["owner"],
        doc["submitted_at"],
        tuple(doc.get("coc_document_ids", ())),
    )
