"""`<topic>.dlq`: messages a consumer could not parse or handle, with the reason, never dropped."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from contracts.common import Envelope, Identifier, Reason


class DeadLetterReason:
    """Reason codes on dead-letter topics."""

    NOT_JSON = "not_json"
    SCHEMA_INVALID = "schema_invalid"
    UNKNOWN_TYPE = "unknown_type"
    HANDLER_ERROR = "handler_error"


class DeadLetter(Envelope):
    """A message a service could not take, kept whole with why."""

    type: Literal["dead_letter"] = Field(default="dead_letter", description="Type tag.")
    source_topic: Identifier = Field(description="Topic it came from.")
    partition: int = Field(ge=0, description="Partition it came from.")
    offset: int = Field(ge=0, description="Offset it had.")
    key: str | None = Field(default=None, max_length=1000, description="Its key (utf-8, or base64 if not text).")
    payload: str = Field(description="Its value (utf-8, or base64 if not text).")
    payload_encoding: Literal["utf-8", "base64"] = Field(description="How `payload` is encoded.")
    service: Identifier = Field(description="Service that refused it.")
    reason_code: str = Field(max_length=80, description="Why, machine-readable.")
    errors: list[Reason] = Field(min_length=1, description="Every error found.")


DeadLetterMessage = Annotated[Union[DeadLetter], Field(discriminator="type")]
