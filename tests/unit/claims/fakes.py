"""An in-memory `ClaimsStore` for handler tests (cosmicpython's FakeUnitOfWork), held to the same
store suite as the MongoDB adapter (store_suite.py) so the two cannot drift."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pymongo.errors import OperationFailure

from contracts.claims import ClaimRequested, ClaimType, ClaimTypeStatus
from contracts.common import today_utc
from contracts.registry import Certificate, Member, Site
from libs.messaging import Tx
from services.claims.adapters.store import WRITE_CONFLICT
from services.claims.domain.checks import Registry
from services.claims.domain.effects import Status
from services.claims.domain.footprints import Footprint
from services.claims.domain.membership import AT_RISK, FORFEITED, rejoins
from services.claims.domain.plausibility import OPEN, SiteYear
from services.claims.domain.saga import Claim
from services.claims.domain.state import Loaded
from services.claims.domain.texts import ApprovedText


@dataclass
class Stored:
    """A claim as stored: its state, the command that asked for its mass, its history."""

    claim: Claim
    allocate_command_id: str | None
    decisions: list[dict[str, Any]] = field(default_factory=list)


class FakeStore:
    """The whole database in dicts; loads hand out copies, so only `save_claims` changes claims."""

    def __init__(self) -> None:
        self.claims: dict[str, Stored] = {}
        """By claim key (`saga.claim_key`)."""
        self.members: dict[str, Member] = {}
        self.standing: dict[str, tuple[str, date | None]] = {}
        self.certificates: dict[str, Certificate] = {}
        self.texts: dict[tuple[str, int], ApprovedText] = {}
        self.footprints: dict[str, Footprint] = {}
        self.claim_types: dict[ClaimType, ClaimTypeStatus] = {}
        self.sites: dict[str, Site] = {}
        self.site_output: dict[tuple[str, int], tuple[Decimal, bool]] = {}

    def __call__(self, tx: Tx) -> FakeStore:
        """The `StoreFor` port: one store, whatever the transaction."""
        return self

    # ---- claims ----

    async def load_claims(
        self, *, ids: Sequence[str] = (), allocate_command_ids: Sequence[str] = ()
    ) -> Loaded:
        ids, commands = set(ids), set(allocate_command_ids)
        return self._load(
            s
            for s in self.claims.values()
            if s.claim.key in ids or s.allocate_command_id in commands
        )

    async def open_claims_with(self, product_id: str, artwork_reference: str) -> list[str]:
        return sorted(
            s.claim.ref
            for s in self.claims.values()
            if s.claim.status in OPEN
            and s.claim.request.product.product_id == product_id
            and s.claim.request.artwork_reference == artwork_reference
        )

    async def load_approved_resting_on(self, certificate_ids: Sequence[str]) -> Loaded:
        wanted = set(certificate_ids)
        return self._load(
            s
            for s in self.claims.values()
            if s.claim.status is Status.APPROVED and wanted & set(s.claim.certificate_ids)
        )

    async def load_due(self, now: datetime, limit: int) -> Loaded:
        today = today_utc(now)

        def due(c: Claim) -> bool:
            if c.status is Status.PENDING:
                return c.decide_by is not None and c.decide_by <= now
            return (
                c.status is Status.APPROVED and c.valid_until is not None and c.valid_until < today
            )

        return self._load([s for s in self.claims.values() if due(s.claim)][:limit])

    def _load(self, stored: Iterable[Stored]) -> Loaded:
        loaded = Loaded()
        for s in stored:
            loaded.add_read(_copy(s.claim), s.allocate_command_id)
        return loaded

    async def save_claims(self, loaded: Loaded) -> None:
        for key in loaded.changed - loaded.new:
            if self.claims[key].claim.version != loaded.read_version[key]:
                raise OperationFailure(
                    "a claim changed while this batch read it", code=WRITE_CONFLICT
                )
        for key in loaded.changed:
            claim = loaded.claims[key]
            history = loaded.history.get(key, [])
            if key in loaded.new:
                claim.version = 1
                stored = Stored(_copy(claim), loaded.commands.get(key), list(history))
                self.claims[key] = stored
            else:
                claim.version = loaded.read_version[key] + 1
                self.claims[key].claim = _copy(claim)
                self.claims[key].decisions.extend(history)

    # ---- the registry projection ----

    async def load_registry(
        self, requests: Iterable[ClaimRequested], quoted_numbers: Iterable[str]
    ) -> Registry:
        requests = list(requests)
        orgs = {
            org
            for r in requests
            for org in (r.claimant_organisation_id, *r.product.supplier_organisation_ids)
        }
        keys = {n.upper() for n in quoted_numbers}
        if not orgs:
            return Registry()
        footprints = await self.load_footprints(
            str(r.footprint_id) for r in requests if r.footprint_id is not None
        )
        certificates = tuple(
            c.model_copy(update={"findings": []})
            for c in self.certificates.values()
            if c.organisation_id in orgs or c.certificate_number.upper() in keys
        )
        standing = {org: s for org, (s, _) in self.standing.items() if org in orgs}
        return Registry(frozenset(orgs & set(self.members)), certificates, standing, footprints)

    async def save_members(self, members: Sequence[Member]) -> None:
        self.members.update((m.organisation_id, m) for m in members)

    async def newer_certificates(self, certificates: Sequence[Certificate]) -> list[Certificate]:
        revisions = {cid: c.revision for cid, c in self.certificates.items()}
        newer = []
        for c in certificates:
            if c.revision > revisions.get(c.certificate_id, 0):
                revisions[c.certificate_id] = c.revision
                newer.append(c)
        return newer

    async def save_certificates(self, certificates: Sequence[Certificate]) -> None:
        self.certificates.update((c.certificate_id, c) for c in certificates)

    async def mark_at_risk(self, organisation_id: str, since: datetime) -> None:
        if self.standing.get(organisation_id, ("", None))[0] != FORFEITED:
            self.standing[organisation_id] = (AT_RISK, None)

    async def mark_forfeited(
        self, organisation_id: str, since: datetime, forfeited_on: date
    ) -> None:
        self.standing[organisation_id] = (FORFEITED, forfeited_on)

    async def clear_at_risk(self, organisation_id: str) -> None:
        if self.standing.get(organisation_id, ("", None))[0] == AT_RISK:
            del self.standing[organisation_id]

    async def clear_forfeited(self, organisation_id: str, joined_on: date) -> None:
        standing, forfeited_on = self.standing.get(organisation_id, ("", None))
        if standing == FORFEITED and forfeited_on is not None and rejoins(forfeited_on, joined_on):
            del self.standing[organisation_id]

    # ---- texts and claim type statuses ----

    async def save_text(self, text: ApprovedText) -> bool:
        return self.texts.setdefault((text.text_id, text.version), text) == text

    async def latest_texts(self, text_ids: Iterable[str]) -> dict[str, ApprovedText]:
        wanted = set(text_ids)
        latest: dict[str, ApprovedText] = {}
        for (text_id, version), text in self.texts.items():
            if text_id in wanted and (text_id not in latest or version > latest[text_id].version):
                latest[text_id] = text
        return latest

    async def load_footprints(self, footprint_ids: Iterable[str]) -> dict[str, Footprint]:
        return {i: self.footprints[i] for i in set(footprint_ids) if i in self.footprints}

    async def save_footprint(self, footprint: Footprint) -> None:
        self.footprints[str(footprint.footprint_id)] = footprint

    async def set_claim_type_status(
        self, claim_type: ClaimType, status: ClaimTypeStatus, now: datetime
    ) -> None:
        self.claim_types[claim_type] = status

    async def claim_type_statuses(self) -> dict[ClaimType, ClaimTypeStatus]:
        return dict(self.claim_types)

    async def save_sites(self, sites: Sequence[Site]) -> None:
        self.sites.update({s.site_id: s for s in sites})

    async def add_site_output(self, site_id: str, year: int, coc_kg: Decimal) -> SiteYear:
        before, alerted = self.site_output.get((site_id, year), (Decimal(0), False))
        self.site_output[(site_id, year)] = (before + coc_kg, alerted)
        site = self.sites.get(site_id)
        return SiteYear(
            site_id,
            year,
            before + coc_kg,
            site.organisation_id if site else None,
            site.output_capacity_kg_per_year if site else None,
            alerted,
        )

    async def mark_site_alerted(self, site_id: str, year: int) -> None:
        output, _ = self.site_output[(site_id, year)]
        self.site_output[(site_id, year)] = (output, True)


def _copy(claim: Claim) -> Claim:
    """A copy the caller may change without changing the store (its other fields are immutable)."""
    return replace(claim, certificate_ids=list(claim.certificate_ids), usage=dict(claim.usage))
