from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from libs.settings import ServiceSettings
from services.intake.domain.rules import IntakeRules


class Settings(ServiceSettings):
    """Settings of the intake service; every variable is `INTAKE_<FIELD>` (connection settings also
    unprefixed)."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    service_name: str = "intake"
    database: str = "asi_intake"
    max_quantity_kg: Decimal = Field(
        default=Decimal(500_000_000),
        gt=0,
        description="Ceiling for one event line, in kg (above: quantity_absurd).",
    )
    future_skew: timedelta = Field(
        default=timedelta(days=1), description="How far in the future a plant date may be."
    )
    hold_for: timedelta = Field(
        default=timedelta(minutes=10),
        description="How long an event waits for a missing site, certificate or document.",
    )
    recheck_every: timedelta = Field(
        default=timedelta(seconds=5),
        description="How often a held event is re-evaluated by the tick.",
    )
    held_per_round: int = Field(
        default=500, ge=1, description="Held events re-evaluated per transaction."
    )

    def rules(self) -> IntakeRules:
        return IntakeRules(
            max_quantity_kg=self.max_quantity_kg,
            future_skew=self.future_skew,
            hold_for=self.hold_for,
            recheck_every=self.recheck_every,
        )
