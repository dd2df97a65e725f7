"""The claims' read models, from `claims.requests.v1` and `claims.decisions.v1`: each claim's
request, status, evidence and history; approved claim texts; PACT footprints; plausibility alerts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pymongo import UpdateOne

from contracts import claims as cl
from libs.messaging import Incoming, Outgoing, Tx
from services.gateway.adapters import store
from services.gateway.writes import NO_OUTPUT
from services.gateway.writes import bulk as _bulk


STATUS_OF = {
    cl.ClaimPending: "pending", cl.ClaimAwaitingReview: "awaiting_review", cl.ClaimApproved: "approved", cl.ClaimRejected: "rejected",
    cl.ClaimRevoked: "revoked", cl.ClaimExpired: "expired", cl.ClaimWithdrawalConfirmed: "withdrawn",
}


async def handle_claim_requests(batch: Sequence[Incoming], tx: Tx) -> Sequence[Outgoing]:
    """Claim requests (the claim's read model with its request), the secretariat's approved claim
    texts and the PACT footprints submitted, each from the batch."""
    messages = [i.message for i in batch]
    await _bulk(tx, store.CLAIMS, [UpdateOne(*store.claim_request_upsert(m), upsert=True)
                                   for m in messages if isinstance(m, cl.ClaimRequested)])
    await _bulk(tx, "claim_texts", [_claim_text_op(m) for m in messages
                                    if isinstance(m, cl.ClaimTextPublished) and m.actor.role.value == "secretariat"])
    await _bulk(tx, store.FOOTPRINTS, [_footprint_op(m) for m in messages if _footprint_kept(m)])
    return NO_OUTPUT


def _claim_text_op(m: cl.ClaimTextPublished) -> UpdateOne:
    """An approved claim text version, kept once (api/claim_texts.py)."""
    return UpdateOne({"_id": f"{m.text_id}:{m.version}"}, {"$setOnInsert": m.model_dump(
        mode="json", include={"text_id", "version", "claim_type", "language", "template", "auto_approve"})}, upsert=True)


def _footprint_kept(m: Any) -> bool:
    """A footprint submission claims keeps too: under its footprint's key, by its producer or the
    secretariat (what claims refuses is not kept here either)."""
    return (isinstance(m, cl.FootprintSubmitted) and m.claim_id == cl.footprint_key(m.footprint.id)
            and (m.actor.organisation_id == m.producer_organisation_id or m.actor.role.value == "secretariat"))


def _footprint_op(m: cl.FootprintSubmitted) -> UpdateOne:
    """A footprint version (api/footprints.py); the first submission of a version stands, as in claims."""
    return UpdateOne({"_id": f"{m.footprint.id}:{m.footprint.version}:{m.producer_organisation_id}"}, {
        "$setOnInsert": {
            "footprint_id": str(m.footprint.id), "version": m.footprint.version, "owner": m.producer_organisation_id,
            "coc_document_ids": m.coc_document_ids, "submitted_at": m.occurred_at,
            # As JSON text: a PACT document may carry any key (an extension's data), some of which MongoDB refuses.
            "document": json.dumps(m.footprint.document(), separators=(",", ":"))}},
        upsert=True)


async def handle_claim_decisions(batch: Sequence[Incoming], tx: Tx) -> Sequence[Outgoing]:
    """Each claim's status, evidence and history (keyed by claimant and claim id); plausibility alerts
    in a list of their own."""
    messages = [i.message for i in batch]
    # Plausibility alerts are the secretariat's alone (api/plausibility.py): they may name other brands' claims.
    await _bulk(tx, store.CLAIMS, [_claim_decision_op(m) for m in messages
                                   if not isinstance(m, cl.PlausibilityAlertRaised)])
    await _bulk(tx, store.PLAUSIBILITY_ALERTS, [_alert_op(m) for m in messages
                                                if isinstance(m, cl.PlausibilityAlertRaised)])
    return NO_OUTPUT


def _claim_decision_op(m: Any) -> UpdateOne:
    """The message in the claim's history; a decision also sets its status and what it decided, a
    usage report the approved and used mass."""
    entry = {"type": m.type, "event_id": str(m.event_id), "at": m.occurred_at,
             "reasons": [r.model_dump() for r in getattr(m, "reasons", None) or []]}
    update: dict[str, Any] = {"$push": {"history": entry},
                              "$setOnInsert": {"claimant_organisation_id": m.claimant_organisation_id,
                                               "claim_id": m.claim_id}}
    status = STATUS_OF.get(type(m))
    if status is not None:
        update["$set"] = _decided(m, status, entry["reasons"])
    if isinstance(m, cl.ClaimUsageRecorded):  # approved vs used, for the brand owner and the secretariat
        update["$set"] = {"mass": {"approved_kg": str(m.approved_kg), "used_units": m.used_units,
                                   "used_kg": str(m.used_kg), "unused_kg": str(m.unused_kg)}}
    # A refused input changes nothing: it is noted on a known claim, never creates one.
    key = store.claim_key(m.claimant_organisation_id, m.claim_id)
    return UpdateOne({"_id": key}, update, upsert=status is not None)


def _alert_op(m: cl.PlausibilityAlertRaised) -> UpdateOne:
    """A plausibility alert in the secretariat's list (api/plausibility.py), once."""
    return UpdateOne({"_id": str(m.event_id)}, {"$setOnInsert": {
        "alert_id": str(m.event_id), "raised_at": m.occurred_at, "claim_id": m.claim_id,
        "claimant_organisation_id": m.claimant_organisation_id, "reasons": [r.model_dump() for r in m.reasons],
        "evidence": m.evidence.model_dump(mode="json")}}, upsert=True)


def _decided(m: Any, status: str, reasons: list[Any]) -> dict[str, Any]:
    """The fields a decision sets on its claim's read model."""
    fields: dict[str, Any] = {"status": status, "decided_at": m.occurred_at, "reasons": reasons}
    fields.update(_before_decision(m))
    fields.update(_decision(m))
    return fields


def _before_decision(m: Any) -> dict[str, Any]:
    """What a claim waits for (pending), the secretariat's queue (awaiting review), and whether it is
    a pilot (awaiting review or approved)."""
    if isinstance(m, cl.ClaimPending):
        return {"waiting_for": m.waiting_for, "decide_by": m.decide_by}
    if isinstance(m, cl.ClaimAwaitingReview):  # the secretariat's queue (api/review.py)
        return {"awaiting_since": m.awaiting_since, "evidence": m.evidence.model_dump(mode="json"),
                "artwork_reference": m.artwork_reference, "pilot": m.pilot}
    if isinstance(m, cl.ClaimApproved):
        return {"pilot": m.pilot}
    return {}


def _decision(m: Any) -> dict[str, Any]:
    """The review behind a decision, an approval's code, validity, evidence and approved mass, a
    rejection's evidence, the mass a withdrawal returned."""
    fields: dict[str, Any] = {}
    if isinstance(m, cl.ClaimApproved | cl.ClaimRejected) and m.review is not None:
        fields["review"] = m.review.model_dump(mode="json")
    if isinstance(m, cl.ClaimApproved):
        fields.update(approval_code=m.approval_code, valid_until=m.valid_until.isoformat(),
                      evidence=m.evidence.model_dump(mode="json"), approved_at=m.occurred_at)
        # approved vs used from the approval on (issue 18 item 6; usage reports follow it on the claim's partition)
        spent = m.evidence.allocation.mass_kg if m.evidence.allocation else m.evidence.claimed_mass_kg
        fields["mass.approved_kg"] = str(spent)
    if isinstance(m, cl.ClaimRejected) and m.evidence is not None:
        fields["evidence"] = m.evidence.model_dump(mode="json")
    if isinstance(m, cl.ClaimWithdrawalConfirmed) and m.returned_kg is not None:
        fields["mass.returned_kg"] = str(m.returned_kg)
    return fields
