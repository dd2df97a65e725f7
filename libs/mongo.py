"""`AsyncMongoClient` with exact decimals: Decimal is stored as Decimal128 and read back as Decimal."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID

from bson.codec_options import CodecOptions, TypeCodec, TypeRegistry
from bson.decimal128 import Decimal128
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


class DecimalCodec(TypeCodec):
    python_type = Decimal
    bson_type = Decimal128

    def transform_python(self, value: Decimal) -> Decimal128:
        return Decimal128(value)

    def transform_bson(self, value: Decimal128) -> Decimal:
        return value.to_decimal()


CODEC_OPTIONS: CodecOptions[dict[str, Any]] = CodecOptions(type_registry=TypeRegistry([DecimalCodec()]), tz_aware=True)


def mongo_client(uri: str, app_name: str) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(
        uri,
        appname=app_name,
        type_registry=CODEC_OPTIONS.type_registry,
        tz_aware=True,
        serverSelectionTimeoutMS=10_000,
        retryWrites=True,
    )


def database(client: AsyncMongoClient[dict[str, Any]], name: str) -> AsyncDatabase[dict[str, Any]]:
    return client.get_database(name, codec_options=CODEC_OPTIONS)


def to_document(model: BaseModel, **extra: Any) -> dict[str, Any]:
    """A contract or domain model as a BSON-ready document: Decimals stay exact (Decimal128),
    dates become ISO strings (which sort and compare correctly), UUIDs and enums their text."""
    return {**_bsonable(model.model_dump(mode="python")), **extra}


def from_document(kind: type[M], doc: dict[str, Any] | None) -> M | None:
    if doc is None:
        return None
    return kind.model_validate({k: v for k, v in doc.items() if k != "_id"})


def _bsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _bsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_bsonable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value
