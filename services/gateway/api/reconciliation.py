"""Usage and reconciliation for the secretariat (issue 18 item 6): per brand owner and period, the
CoC mass received, claimed, used and left (`domain/reconciliation.py` says what each figure is).
Built from the gateway's own read models of `ledger.events.v1` and `claims.decisions.v1`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query

from contracts.common import Role
from contracts.ledger import account_organisation_id
from services.gateway.adapters import store
from services.gateway.api.deps import ApiError, GatewayDep, respond, role
from services.gateway.domain import reconciliation
from services.gateway.domain.access import Principal

router = APIRouter(tags=["secretariat"])
Secretariat = Annotated[Principal, role(Role.SECRETARIAT)]
RECEIPT_KINDS = ["receipt", "reversal"]


@router.get("/v1/reconciliation",
            summary="Per brand owner and period: CoC mass received, claimed, used and left")
async def period_reconciliation(gw: GatewayDep, caller: Secretariat, period_start: date, period_end: date,
                                organisation_id: Annotated[str | None, Query(max_length=120)] = None) -> Any:
    if period_end < period_start:
        raise ApiError(422, "invalid_period", "period_end is before period_start")
    query: dict[str, Any] = {"claimant_organisation_id": organisation_id} if organisation_id else {}
    claims = [d async for d in gw.db[store.CLAIMS].find(query, {
        "claim_id": 1, "claimant_organisation_id": 1, "status": 1, "mass": 1, "approved_at": 1, "decided_at": 1})]
    owners = {d.get("claimant_organisation_id") for d in claims}
    receipts = await _coc_receipts(gw, period_start, period_end, owners)
    rows = reconciliation.reconcile(period_start, period_end, receipts, claims)
    return respond({"period_start": period_start.isoformat(), "period_end": period_end.isoformat(),
                    "owners": [r.view() for r in rows]})


async def _coc_receipts(gw: GatewayDep, period_start: date, period_end: date,
                        owners: set[Any]) -> list[tuple[str, Decimal, date]]:
    """(owner, CoC kg, day) of every receipt (or its reversal) booked in the period with CoC mass, for
    the brand owners asked about; a site account's owner is the site's organisation."""
    entries = [e async for e in gw.db[store.UPSTREAM_ENTRIES].find(
        {"kind": {"$in": RECEIPT_KINDS},
         "booked_on": {"$gte": period_start.isoformat(), "$lte": period_end.isoformat()}},
        {"account_id": 1, "coc_input_kg": 1, "booked_on": 1})]
    site_accounts = sorted({e["account_id"].partition(":")[2] for e in entries if e["account_id"].startswith("site:")})
    sites = await store.site_owners(gw.db, site_accounts) if site_accounts else {}
    receipts = []
    for e in entries:
        account = e["account_id"]
        owner = account_organisation_id(account) or sites.get(account.partition(":")[2])
        if owner in owners and e.get("coc_input_kg"):
            receipts.append((owner, Decimal(str(e["coc_input_kg"])), date.fromisoformat(e["booked_on"])))
    return receipts
