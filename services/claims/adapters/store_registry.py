"""The claims service's projection of the registry, kept in its own database: members, their
standing and certificates (from `certificates.events.v1`), PACT footprints and sites' yearly
output. `RegistryStore` is the part of `store.MongoStore` that reads and writes them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pymongo import ReplaceOne

from contracts.claims import ClaimRequested
from contracts.registry import Certificate, Member, Site
from libs.messaging import Tx
from libs.mongo import to_document
from services.claims.adapters.documents import footprint_document, footprint_from
from services.claims.domain.checks import Registry
from services.claims.domain.footprints import Footprint
from services.claims.domain.membership import AT_RISK, FORFEITED
from services.claims.domain.plausibility import SiteYear

FOOTPRINTS = "footprints"
REGISTRY = "registry"
SITES = "sites"
"""Each site's organisation and declared yearly output capacity (from `SiteRegistered`)."""
SITE_OUTPUT = "site_output"
"""CoC mass of the documents each site issued per calendar year (`<site>|<year>`), exact strings."""


class RegistryStore:
    """The registry projection's half of `ports.ClaimsStore`, inside one batch's transaction."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self.db = tx.db
        self.session = tx.session
        self._outputs: dict[str, dict[str, Any] | None] = {}
        """Site-years (`SITE_OUTPUT`) as this transaction read and wrote them."""
        self._sites: dict[str, dict[str, Any]] = {}
        """Sites (`SITES`) as this transaction read them."""

    # ---- the registry projection ----
    # Members, their standing and certificates share one collection so a check reads them all in a
    # single query: `member:<org>`, `standing:<org>` and `certificate:<id>` documents (the
    # certificate's own fields).

    async def save_members(self, members: Sequence[Member]) -> None:
        if members:
            await self.db[REGISTRY].bulk_write(
                [
                    ReplaceOne(
                        {"_id": f"member:{m.organisation_id}"},
                        {
                            "kind": "member",
                            "organisation_id": m.organisation_id,
                            "member": to_document(m),
                        },
                        upsert=True,
                    )
                    for m in members
                ],
                ordered=True,
                session=self.session,
            )

    async def newer_certificates(self, certificates: Sequence[Certificate]) -> list[Certificate]:
        ids = list({f"certificate:{c.certificate_id}" for c in certificates})
        stored = {
            doc["_id"]: doc["revision"]
            async for doc in self.db[REGISTRY].find(
                {"_id": {"$in": ids}}, {"revision": 1}, session=self.session
            )
        }
        newer = []
        for c in certificates:
            key = f"certificate:{c.certificate_id}"
            if c.revision > stored.get(key, 0):
                stored[key] = c.revision
                newer.append(c)
        return newer

    async def save_certificates(self, certificates: Sequence[Certificate]) -> None:
        latest = {c.certificate_id: c for c in certificates}
        if latest:
            await self.db[REGISTRY].bulk_write(
                [
                    ReplaceOne(
                        {"_id": f"certificate:{cid}"},
                        to_document(c, kind="certificate", number_key=c.certificate_number.upper()),
                        upsert=True,
                    )
                    for cid, c in latest.items()
                ],
                ordered=True,
                session=self.session,
            )

    async def load_registry(
        self, requests: Iterable[ClaimRequested], quoted_numbers: Iterable[str]
    ) -> Registry:
        requests = list(requests)
        orgs = _organisations_in(requests)
        if not orgs:
            return Registry()
        footprints = await self.load_footprints(
            str(r.footprint_id) for r in requests if r.footprint_id is not None
        )
        members: set[str] = set()
        certificates: list[Certificate] = []
        standing: dict[str, str] = {}
        async for doc in self._registry_docs(orgs, {n.upper() for n in quoted_numbers}):
            _read_registry_doc(doc, members, certificates, standing)
        return Registry(frozenset(members), tuple(certificates), standing, footprints)

    async def _registry_docs(
        self, orgs: list[str], number_keys: set[str]
    ) -> AsyncIterator[dict[str, Any]]:
        """The registry documents of these organisations and certificate numbers, each once: two
        indexed queries rather than an `$or`, which the embedded database answers by a scan."""
        queries: list[dict[str, Any]] = [{"organisation_id": {"$in": orgs}}]
        if number_keys:
            queries.append({"number_key": {"$in": list(number_keys)}})
        projection = {"findings": 0, "member": 0}
        seen: set[str] = set()
        for query in queries:
            async for doc in self.db[REGISTRY].find(query, projection, session=self.session):
                if doc["_id"] not in seen:
                    seen.add(doc["_id"])
                    yield doc

    # ---- members' standing (`domain/membership.py`) ----

    async def mark_at_risk(self, organisation_id: str, since: datetime) -> None:
        key = f"standing:{organisation_id}"
        current = await self.db[REGISTRY].find_one(
            {"_id": key}, {"standing": 1}, session=self.session
        )
        if current is None or current["standing"] != FORFEITED:
            await self.db[REGISTRY].replace_one(
                {"_id": key},
                _standing(organisation_id, AT_RISK, since),
                upsert=True,
                session=self.session,
            )

    async def mark_forfeited(
        self, organisation_id: str, since: datetime, forfeited_on: date
    ) -> None:
        await self.db[REGISTRY].replace_one(
            {"_id": f"standing:{organisation_id}"},
            {
                **_standing(organisation_id, FORFEITED, since),
                "forfeited_on": forfeited_on.isoformat(),
            },
            upsert=True,
            session=self.session,
        )

    async def clear_at_risk(self, organisation_id: str) -> None:
        await self.db[REGISTRY].delete_one(
            {"_id": f"standing:{organisation_id}", "standing": AT_RISK}, session=self.session
        )

    async def clear_forfeited(self, organisation_id: str, joined_on: date) -> None:
        # `domain.membership.rejoins` as a query: forfeited before the new join date
        await self.db[REGISTRY].delete_one(
            {
                "_id": f"standing:{organisation_id}",
                "standing": FORFEITED,
                "forfeited_on": {"$lt": joined_on.isoformat()},
            },
            session=self.session,
        )

    # ---- PACT footprints (`domain/footprints.py`) ----

    async def load_footprints(self, footprint_ids: Iterable[str]) -> dict[str, Footprint]:
        ids = list(set(footprint_ids))
        if not ids:
            return {}
        found = self.db[FOOTPRINTS].find({"_id": {"$in": ids}}, session=self.session)
        return {doc["_id"]: footprint_from(doc) async for doc in found}

    async def save_footprint(self, footprint: Footprint) -> None:
        wanted = footprint_document(footprint)
        await self.db[FOOTPRINTS].replace_one(
            {"_id": wanted["_id"]}, wanted, upsert=True, session=self.session
        )

    # ---- sites' output, for the capacity plausibility check ----

    async def save_sites(self, sites: Sequence[Site]) -> None:
        for site in sites:
            self._sites.pop(site.site_id, None)
            capacity = site.output_capacity_kg_per_year
            await self.db[SITES].update_one(
                {"_id": site.site_id},
                {
                    "$set": {
                        "organisation_id": site.organisation_id,
                        "capacity_kg": None if capacity is None else str(capacity),
                    }
                },
                upsert=True,
                session=self.session,
            )

    async def add_site_output(self, site_id: str, year: int, coc_kg: Decimal) -> SiteYear:
        # A batch of ledger events carries many documents of few sites: each site and site-year
        # is read once per transaction and kept with what this transaction wrote to it.
        key = f"{site_id}|{year}"
        if key not in self._outputs:
            self._outputs[key] = await self.db[SITE_OUTPUT].find_one(
                {"_id": key}, session=self.session
            )
        stored = self._outputs[key]
        total = coc_kg + (Decimal(stored["coc_output_kg"]) if stored else Decimal(0))
        await self.db[SITE_OUTPUT].update_one(
            {"_id": key},
            {"$set": {"site_id": site_id, "year": year, "coc_output_kg": str(total)}},
            upsert=True,
            session=self.session,
        )
        self._outputs[key] = {**(stored or {}), "coc_output_kg": str(total)}
        if site_id not in self._sites:
            self._sites[site_id] = (
                await self.db[SITES].find_one({"_id": site_id}, session=self.session) or {}
            )
        site = self._sites[site_id]
        capacity = site.get("capacity_kg")
        return SiteYear(
            site_id=site_id,
            year=year,
            coc_output_kg=total,
            organisation_id=site.get("organisation_id"),
            capacity_kg=None if capacity is None else Decimal(capacity),
            alerted=bool(stored and stored.get("alerted")),
        )

    async def mark_site_alerted(self, site_id: str, year: int) -> None:
        key = f"{site_id}|{year}"
        await self.db[SITE_OUTPUT].update_one(
            {"_id": key}, {"$set": {"alerted": True}}, session=self.session
        )
        if (stored := self._outputs.get(key)) is not None:
            self._outputs[key] = {**stored, "alerted": True}


def _organisations_in(requests: list[ClaimRequested]) -> list[str]:
    """Every claimant and supplier the requests name, each once."""
    return list(
        {
            org
            for r in requests
            for org in (r.claimant_organisation_id, *r.product.supplier_organisation_ids)
        }
    )


_NOT_CERTIFICATE_FIELDS = ("_id", "kind", "number_key")


def _read_registry_doc(
    doc: dict[str, Any],
    members: set[str],
    certificates: list[Certificate],
    standing: dict[str, str],
) -> None:
    if doc["kind"] == "member":
        members.add(doc["organisation_id"])
    elif doc["kind"] == "standing":
        standing[doc["organisation_id"]] = doc["standing"]
    else:
        fields = {k: v for k, v in doc.items() if k not in _NOT_CERTIFICATE_FIELDS}
        certificates.append(Certificate.model_validate(fields))


def _standing(organisation_id: str, standing: str, since: datetime) -> dict[str, Any]:
    return {
        "kind": "standing",
        "organisation_id": organisation_id,
        "standing": standing,
        "since": since,
    }
