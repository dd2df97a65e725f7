"""The registry in this service's own database."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from contracts.registry import CertificationBody, Member, Site
from libs.messaging import Tx
from libs.mongo import from_document, to_document

_COLLECTIONS = {Member: "members", Site: "sites", CertificationBody: "certification_bodies"}
_IDS = {Member: "organisation_id", Site: "site_id", CertificationBody: "certification_body_id"}


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db["sites"].create_index("organisation_id")


async def load(tx: Tx, kind: type[Member | Site | CertificationBody], record_id: str) -> Any:
    return from_document(kind, await tx.db[_COLLECTIONS[kind]].find_one({"_id": record_id}, session=tx.session))


async def save(tx: Tx, record: Member | Site | CertificationBody) -> None:
    kind = type(record)
    record_id = getattr(record, _IDS[kind])
    await tx.db[_COLLECTIONS[kind]].replace_one(
        {"_id": record_id}, to_document(record, _id=record_id), upsert=True, session=tx.session
    )
