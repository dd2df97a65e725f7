"""Shipments: the CoC designation within the shipment, what the site can produce."""

from __future__ import annotations

from datetime import datetime

from contracts.intake import IntakeReason as R
from contracts.plant import MaterialShipped
from contracts.registry import Site
from services.intake.domain.checks import Check, category_allowed, kilograms, not_in_future
from services.intake.domain.model import EventRecord
from services.intake.domain.outcomes import ShipmentAccepted
from services.intake.domain.rules import IntakeRules


def shipment(
    event: MaterialShipped,
    site: Site | None,
    replacing: EventRecord | None,
    rules: IntakeRules,
    check: Check,
    now: datetime,
) -> ShipmentAccepted | None:
    """The shipment as it would be accepted (None without a site: then the check waits for it). The
    CoC designation may not exceed the shipment; the ledger decides whether credits cover it."""
    kg = kilograms(event.quantity, event.unit, "quantity", rules, check)
    coc_kg = kilograms(event.coc_quantity, event.unit, "coc_quantity", rules, check, zero_ok=True)
    if coc_kg > kg:
        check.refuse(
            R.COC_QUANTITY_EXCEEDS_SHIPMENT,
            f"{coc_kg} kg designated as CoC out of {kg} kg shipped",
            "coc_quantity",
        )
    not_in_future(event.shipped_on, "shipped_on", now, rules, check)
    if site is None:
        return None
    category_allowed(
        site,
        event.material_category,
        rules.producible(site.activities),
        "ship",
        "material_category",
        check,
    )
    return ShipmentAccepted(
        event=event,
        organisation_id=site.organisation_id,
        quantity_kg=kg,
        coc_kg=coc_kg,
        replaces=replacing.event_id if replacing is not None else None,
    )
