"""Request bodies: each contract message minus the envelope the gateway fills in.

The caller never sends `actor`, `correlation_id` or `causation_id`: the actor comes from the API
key. `event_id` (the idempotency key) and `occurred_at` are optional. Fields naming the caller's
own organisation are optional too and, when given, must be the caller's.
"""

from __future__ import annotations

import functools
import operator
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model

from contracts import audits, certificates, claims, ledger, plant
from contracts.common import Actor, Envelope, Identifier, UtcDatetime

ENVELOPE = {"event_id", "schema_version", "occurred_at", "correlation_id", "causation_id", "actor"}


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def build(self, contract: type[Envelope], actor: Actor, now: datetime, **fixed: Any) -> Envelope:
        """The contract message, with the envelope filled from the credential."""
        body = {k: getattr(self, k) for k in type(self).model_fields if k not in ("event_id", "occurred_at")}
        body.update(fixed)
        return contract.create(actor=actor, occurred_at=self.occurred_at or now, event_id=self.event_id, **body)


def input_model(contract: type[Envelope], *, own_organisation: tuple[str, ...] = (), tagged: bool = False) -> type[Input]:
    """`tagged`: a member of a union told apart by `type`, which is then required (in the OpenAPI document too:
    a body without it is refused, so the schema must not call it valid)."""
    fields: dict[str, Any] = {
        "event_id": (UUID | None, Field(default=None, description="Your id for this message: sending the same id "
                                        "again is a no-op downstream. Generated when omitted.")),
        "occurred_at": (UtcDatetime | None, Field(default=None, description="When it happened (default: now).")),
    }
    for name, info in contract.model_fields.items():
        if name in ENVELOPE:
            continue
        if tagged and name == "type":
            fields[name] = (info.annotation, Field(description=info.description))
        elif name in own_organisation:
            fields[name] = (Identifier | None, Field(default=None, description=f"{info.description} Defaults to, "
                                                      "and must be, your own organisation."))
        else:
            fields[name] = (info.annotation, info)
    model = create_model(f"{contract.__name__}Input", __base__=Input, __doc__=contract.__doc__, **fields)
    model.CONTRACT = contract  # type: ignore[attr-defined]
    return model


def _union(*models: type[Input]) -> Any:
    return Annotated[functools.reduce(operator.or_, models), Field(discriminator="type")]


MaterialReceivedInput = input_model(plant.MaterialReceived, tagged=True)
MaterialTransformedInput = input_model(plant.MaterialTransformed, tagged=True)
MaterialShippedInput = input_model(plant.MaterialShipped, tagged=True)
PlantEventCancelledInput = input_model(plant.PlantEventCancelled, tagged=True)
PlantEventInput = _union(MaterialReceivedInput, MaterialTransformedInput, MaterialShippedInput, PlantEventCancelledInput)
PLANT_INPUT: TypeAdapter[Any] = TypeAdapter(PlantEventInput)

ClaimRequestedInput = input_model(claims.ClaimRequested, own_organisation=("claimant_organisation_id",))
ClaimWithdrawnInput = input_model(claims.ClaimWithdrawn, own_organisation=("claimant_organisation_id",))

AuditOutcomeSubmittedInput = input_model(audits.AuditOutcomeSubmitted, own_organisation=("certification_body_id",))
NonconformityClosedInput = input_model(audits.NonconformityClosed, own_organisation=("certification_body_id",))

CertificateCommandInput = _union(*(input_model(c, tagged=True) for c in (
    certificates.RegisterMember, certificates.RegisterSite, certificates.RegisterCertificationBody,
    certificates.SuspendCertificate, certificates.ReinstateCertificate, certificates.WithdrawCertificate,
    certificates.ChangeCertificateScope, certificates.ExtendCertificationDeadline,
    certificates.RecordMembershipForfeiture, certificates.RotateSigningKey)))
LedgerCommandInput = _union(*(input_model(c, tagged=True) for c in (ledger.ClosePeriod, ledger.AssignRuleSet)))
