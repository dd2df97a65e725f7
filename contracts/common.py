"""The envelope, value types and vocabularies every topic shares.

Every message on every topic is one flat JSON object: the envelope fields (event id, type tag,
schema version, occurred-at, correlation and causation ids, actor) followed by the body fields of
its type. Quantities are exact decimal kilograms carried as JSON strings; floats are refused.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

SCHEMA_VERSION = 1
EVENT_ID_NAMESPACE = uuid.UUID("5b0f5a52-3f0e-4c8e-9a51-6a7c0e3e2d11")


def _refuse_float(value: Any) -> Any:
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(
            'binary floating point is refused for exact quantities: send a decimal string such as "1250.5"'
        )
    return value


_DECIMAL_JSON_OUT = WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}, mode="serialization")

_SIGNED = r"^-?\d+(\.\d+)?$"
# `x-request-pattern`: what a request may send, as the validator checks it (at most 19 integer and 9
# decimal digits, and the bounds), so that a value the schema calls valid is never refused; a bound the
# pattern cannot say exactly is said more narrowly (a positive value's last decimal is not a zero). The
# gateway's OpenAPI document uses it as the pattern. The topics' schemas keep the released `pattern`
# (changing it would be a breaking change for their readers, `devstack/schema_compat.py`).
REQUEST_INT, REQUEST_PLACES = "[0-9]{1,19}", r"(\.[0-9]{1,9})?"
REQUEST_POSITIVE_FRACTION = r"0+\.[0-9]{0,8}[1-9]"
"""Pieces of the request patterns, shared with `contracts/pact.py`'s decimals."""
_INT, _PLACES, _POSITIVE_FRACTION = REQUEST_INT, REQUEST_PLACES, REQUEST_POSITIVE_FRACTION
_PATTERNS = {
    (): rf"^-?{_INT}{_PLACES}$",
    (("gt", 0),): rf"^(0*[1-9][0-9]{{0,18}}{_PLACES}|{_POSITIVE_FRACTION})$",
    (("ge", 0),): rf"^{_INT}{_PLACES}$",
    (("ge", 0), ("le", 1)): r"^(0+(\.[0-9]{1,9})?|0*1(\.0{1,9})?)$",
    (("gt", 0), ("le", 10)): rf"^(0*[1-9]{_PLACES}|0*10(\.0{{1,9}})?|{_POSITIVE_FRACTION})$",
}
_AS_STRING = PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")

def _decimal(**bounds: Any) -> Any:
    """An exact decimal type. The constraints sit in one Field *before* the float check, so that
    pydantic-core checks digits, places and bounds itself (a constraint placed after a Python
    validator is checked in Python, three times slower on every quantity of every message)."""
    pattern = _PATTERNS[tuple(sorted(bounds.items()))]
    return Annotated[
        Decimal,
        Field(allow_inf_nan=False, max_digits=28, decimal_places=9, **bounds),
        BeforeValidator(_refuse_float),
        _AS_STRING,
        WithJsonSchema(
            {"type": "string", "pattern": _SIGNED, "x-request-pattern": pattern, "examples": ["1250.5"]},
            mode="validation",
        ),
        _DECIMAL_JSON_OUT,
    ]


ExactDecimal = _decimal()
"""Any exact decimal (signed), as a JSON string."""

Kg = _decimal(gt=0)
"""A strictly positive mass in kilograms."""

KgOrZero = _decimal(ge=0)
"""A mass in kilograms that may be zero (balances, CoC shares)."""

Share = _decimal(ge=0, le=1)
"""A fraction between 0 and 1 inclusive."""

Factor = _decimal(gt=0, le=10)
"""A conversion factor: output mass per unit of input mass."""


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]
Identifier = Annotated[
    str, Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class Role(StrEnum):
    """On whose behalf a message was sent."""

    PRODUCER = "producer"
    BRAND_OWNER = "brand_owner"
    CERTIFICATION_BODY = "certification_body"
    SECRETARIAT = "secretariat"
    SERVICE = "service"


class Contract(BaseModel):
    """Base of every contract model: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False, ser_json_timedelta="iso8601")


class Actor(Contract):
    """The organisation (or platform service) on whose behalf a message was sent."""

    organisation_id: Identifier = Field(description="ASI organisation id, or the service name for role 'service'.")
    role: Role = Field(description="The capacity in which the organisation acts.")


class Reason(Contract):
    """One machine-readable reason with its human explanation."""

    code: str = Field(min_length=1, max_length=80, description="Stable machine-readable reason code.")
    message: str = Field(min_length=1, max_length=2000, description="Human-readable explanation.")
    field: str | None = Field(default=None, max_length=200, description="The offending field, where one applies.")


class Envelope(Contract):
    """Fields every message carries. Subclasses add a `type` literal and their body."""

    TYPE: ClassVar[str]
    event_id: uuid.UUID = Field(description="Unique id of this message; the idempotency key for consumers.")
    schema_version: Literal[1] = Field(default=SCHEMA_VERSION, description="Version of this message's schema.")
    occurred_at: UtcDatetime = Field(description="When the fact happened or the message was created (UTC).")
    correlation_id: uuid.UUID = Field(description="Id shared by every message of one business flow.")
    causation_id: uuid.UUID | None = Field(default=None, description="Event id of the message that caused this one.")
    actor: Actor = Field(description="On whose behalf this message was sent.")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        field = cls.model_fields.get("type")
        if field is not None and field.default is not None:
            cls.TYPE = field.default

    @classmethod
    def create(
        cls,
        *,
        actor: Actor,
        occurred_at: datetime,
        cause: Envelope | None = None,
        event_id: uuid.UUID | None = None,
        correlation_id: uuid.UUID | None = None,
        **body: Any,
    ) -> Self:
        """Build a message; ids follow from `cause` when one is given."""
        return cls(
            event_id=event_id or uuid.uuid4(),
            occurred_at=occurred_at,
            correlation_id=correlation_id or (cause.correlation_id if cause else uuid.uuid4()),
            causation_id=cause.event_id if cause else None,
            actor=actor,
            **body,
        )


def derived_event_id(cause_event_id: uuid.UUID | str, *parts: object) -> uuid.UUID:
    """A deterministic event id for a message caused by another, so a re-run emits the same id."""
    name = ":".join([str(cause_event_id), *map(str, parts)])
    return uuid.uuid5(EVENT_ID_NAMESPACE, name)


class MaterialCategory(StrEnum):
    """What the material is, whatever its certification."""

    BAUXITE = "bauxite"
    ALUMINA = "alumina"
    ALUMINIUM = "aluminium"
    PRE_CONSUMER_SCRAP = "pre_consumer_scrap"
    POST_CONSUMER_SCRAP = "post_consumer_scrap"


SCRAP_CATEGORIES = frozenset({MaterialCategory.PRE_CONSUMER_SCRAP, MaterialCategory.POST_CONSUMER_SCRAP})


class Classification(StrEnum):
    """How intake classified received material for the chain of custody."""

    COC_MATERIAL = "coc_material"
    ELIGIBLE_SCRAP = "eligible_scrap"
    NON_COC_MATERIAL = "non_coc_material"


class DueDiligenceStatus(StrEnum):
    """Outcome of the producer's due diligence on a non-CoC or scrap supply."""

    PASSED = "passed"
    IN_PROGRESS = "in_progress"
    FAILED = "failed"


class Activity(StrEnum):
    """What a site does in the value chain."""

    MINING = "mining"
    ALUMINA_REFINING = "alumina_refining"
    SMELTING = "smelting"
    REMELTING = "remelting"
    REFINING = "refining"
    CASTING = "casting"
    ROLLING = "rolling"
    EXTRUSION = "extrusion"
    CAN_MAKING = "can_making"
    BRAND_OWNER = "brand_owner"


class ProcessStep(StrEnum):
    """A transformation step with its own conversion factor. `mining` is where CoC Material
    originates: bauxite extracted at a CoC-certified mine becomes ASI Bauxite."""

    MINING = "mining"
    BAUXITE_TO_ALUMINA = "bauxite_to_alumina"
    ALUMINA_TO_ALUMINIUM = "alumina_to_aluminium"
    REMELTING = "remelting"
    REFINING = "refining"
    CASTING = "casting"
    ROLLING = "rolling"
    EXTRUSION = "extrusion"
    CAN_MAKING = "can_making"


class MassUnit(StrEnum):
    """Units producers may report in; intake normalises to kilograms."""

    KG = "kg"
    TONNE = "t"
    POUND = "lb"


class Standard(StrEnum):
    """The ASI standard a certificate is issued against."""

    PERFORMANCE_STANDARD = "performance_standard"
    CHAIN_OF_CUSTODY = "chain_of_custody"


def today_utc(now: datetime) -> date:
    return now.astimezone(UTC).date()
