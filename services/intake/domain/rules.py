"""The configurable rules intake applies, and the activity -> material category table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from contracts.common import Activity, MaterialCategory, Role

_BAUXITE, _ALUMINA, _ALUMINIUM = (
    MaterialCategory.BAUXITE,
    MaterialCategory.ALUMINA,
    MaterialCategory.ALUMINIUM,
)
_PRE, _POST = MaterialCategory.PRE_CONSUMER_SCRAP, MaterialCategory.POST_CONSUMER_SCRAP

RECEIVES: dict[Activity, frozenset[MaterialCategory]] = {
    Activity.MINING: frozenset(),
    Activity.ALUMINA_REFINING: frozenset({_BAUXITE}),
    Activity.SMELTING: frozenset({_ALUMINA, _ALUMINIUM}),
    Activity.REMELTING: frozenset({_ALUMINIUM, _PRE, _POST}),
    Activity.REFINING: frozenset({_ALUMINIUM, _PRE, _POST}),
    Activity.CASTING: frozenset({_ALUMINIUM}),
    Activity.ROLLING: frozenset({_ALUMINIUM}),
    Activity.EXTRUSION: frozenset({_ALUMINIUM}),
    Activity.CAN_MAKING: frozenset({_ALUMINIUM}),
    Activity.BRAND_OWNER: frozenset({_ALUMINIUM}),
}
"""What a site with each activity may receive. Scrap only where it is remelted or refined."""

PRODUCES: dict[Activity, frozenset[MaterialCategory]] = {
    Activity.MINING: frozenset({_BAUXITE}),
    Activity.ALUMINA_REFINING: frozenset({_ALUMINA}),
    Activity.SMELTING: frozenset({_ALUMINIUM, _PRE}),
    Activity.REMELTING: frozenset({_ALUMINIUM, _PRE}),
    Activity.REFINING: frozenset({_ALUMINIUM, _PRE}),
    Activity.CASTING: frozenset({_ALUMINIUM, _PRE}),
    Activity.ROLLING: frozenset({_ALUMINIUM, _PRE}),
    Activity.EXTRUSION: frozenset({_ALUMINIUM, _PRE}),
    Activity.CAN_MAKING: frozenset({_ALUMINIUM, _PRE}),
    Activity.BRAND_OWNER: frozenset({_ALUMINIUM}),
}
"""What a site with each activity may produce and ship (process scrap and dross are pre-consumer
scrap)."""

SCRAP_CLASSIFYING_ACTIVITIES = frozenset({Activity.REMELTING, Activity.REFINING})

SENDERS: dict[str, frozenset[Role]] = {
    "material_received": frozenset({Role.PRODUCER, Role.BRAND_OWNER}),
    "plant_event_cancelled": frozenset({Role.PRODUCER, Role.BRAND_OWNER}),
    "material_transformed": frozenset({Role.PRODUCER}),
    "material_shipped": frozenset({Role.PRODUCER}),
}
"""Who may report which plant event: producers everything; brand owners what their own sites receive
(their CoC receipts are what their claims' allocations rest on)."""


@dataclass(frozen=True)
class IntakeRules:
    """Every threshold intake applies; built from the service settings, never a literal in a
    handler."""

    max_quantity_kg: Decimal = Decimal(500_000_000)
    future_skew: timedelta = timedelta(days=1)
    hold_for: timedelta = timedelta(minutes=10)
    recheck_every: timedelta = timedelta(seconds=5)
    receives: dict[Activity, frozenset[MaterialCategory]] = field(
        default_factory=lambda: dict(RECEIVES)
    )
    produces: dict[Activity, frozenset[MaterialCategory]] = field(
        default_factory=lambda: dict(PRODUCES)
    )
    scrap_classifying_activities: frozenset[Activity] = SCRAP_CLASSIFYING_ACTIVITIES
    senders: dict[str, frozenset[Role]] = field(default_factory=lambda: dict(SENDERS))

    def receivable(self, activities: list[Activity]) -> frozenset[MaterialCategory]:
        return frozenset().union(*(self.receives.get(a, frozenset()) for a in activities))

    def producible(self, activities: list[Activity]) -> frozenset[MaterialCategory]:
        return frozenset().union(*(self.produces.get(a, frozenset()) for a in activities))
