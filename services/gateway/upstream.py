"""The upstream of a CoC Document, read from the gateway's stored per account-period summaries
(issue 21): one `$in` read of a level's summaries (one document per account-period, whatever the
number of inputs), never a replay of the ledger. The rules are in `domain/upstream.py`; this module
loads what a level needs, looks up what a summary still lacks, and shapes the two views, one source
per supplier at each level:

* the holder's (the document's issuer or recipient, or the secretariat): supplier names and sites,
  the organisations that received from each supplier, and the CoC mass of a row only as far as it
  was booked in the caller's own accounts (tenants never see each other's volumes); on request
  (`accounts`), what each receiving account's period contributed to each source;
* the public's: countries, activities and certificate numbers, a supplier's name only where its
  member opted in (`member_settings`), and no masses at all.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from services.gateway.adapters import store
from services.gateway.domain import upstream as rules
from services.gateway.domain.access import Principal, account_organisation


@dataclass
class Upstream:
    document: dict[str, Any]
    levels: list[list[rules.Row]]
    drawn_from: str | None
    documents: dict[str, str]
    """CoC Document id -> its issuing site, for the documents of the levels."""
    sites: dict[str, dict[str, Any]]
    members: dict[str, dict[str, Any]]
    certificates: dict[str, list[dict[str, Any]]]
    named: set[str]
    row_sites: list[list[list[str]]] = field(default_factory=list)
    """Per level and row, the sites its material came from (`_sites`), found once."""


async def _find(db: store.Db, collection: str, query: dict[str, Any],
                projection: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [d async for d in db[collection].find(query, projection)]


async def _drawn_from(db: store.Db, movement_ids: list[str]) -> dict[str, str]:
    """movement id of a shipment -> the account-period its designation was debited in."""
    entries = await _find(db, store.UPSTREAM_ENTRIES, {"movement_id": {"$in": movement_ids}, "kind": "designation"})
    return {e["movement_id"]: e["account_period"] for e in entries}


class DigestCache:
    """Digests (`rules.digest`) of account-periods whose facts give their inputs by themselves
    (`Digest.local`), each under the very facts it was summed from: a digest is used again only for a
    summary read with exactly the same facts, so a summary that changed (a new, corrected or completed
    fact) is summed again, and a digest is never stale. At most `max_inputs` facts, least recently
    used first out."""

    def __init__(self, max_inputs: int = 20_000) -> None:
        self.max_inputs = max_inputs
        self.inputs = 0
        self.items: OrderedDict[str, tuple[dict[str, str], rules.Digest]] = OrderedDict()

    def clear(self) -> None:
        self.items.clear()
        self.inputs = 0

    def kept(self, account_period: str, digest: rules.Digest) -> bool:
        hit = self.items.get(account_period)
        return hit is not None and hit[1] is digest

    def get(self, account_period: str, entries: dict[str, str]) -> rules.Digest | None:
        hit = self.items.get(account_period)
        if hit is None or hit[0] != entries:
            return None
        self.items.move_to_end(account_period)
        return hit[1]

    def put(self, account_period: str, entries: dict[str, str], digest: rules.Digest) -> None:
        old = self.items.pop(account_period, None)
        if old is not None:
            self.inputs -= len(old[0])
        if len(entries) > self.max_inputs:
            return
        self.items[account_period] = (entries, digest)
        self.inputs += len(entries)
        while self.inputs > self.max_inputs:
            self.inputs -= len(self.items.popitem(last=False)[1][0])


DIGESTS = DigestCache()


class LevelCache:
    """The rows of a level (`rules.level_of`, a function of the weights and the digests alone) under the
    weights and the very digest objects they were made from (kept ones, `DIGESTS`, so unchanged
    summaries give the same objects): the next read of the same upstream finds them. The rows are
    shared by those reads and only read. At most `max_parts` parts (a row's receiving account-periods)
    in all, least recently used first out."""

    def __init__(self, max_parts: int = 40_000) -> None:
        self.max_parts = max_parts
        self.parts = 0
        self.items: OrderedDict[tuple[Any, ...], tuple[list[rules.Row], int]] = OrderedDict()

    def level(self, weights: dict[str, Fraction], digests: dict[str, rules.Digest]) -> list[rules.Row]:
        aps = sorted(weights)
        if not all(DIGESTS.kept(ap, digests[ap]) for ap in aps):
            return rules.level_of(weights, digests)
        key = (*((ap, weights[ap], digests[ap]) for ap in aps),)
        hit = self.items.get(key)
        if hit is not None:
            self.items.move_to_end(key)
            return hit[0]
        rows = rules.level_of(weights, digests)
        parts = sum(len(r.accounts) for r in rows)
        if parts <= self.max_parts:
            self.items[key] = (rows, parts)
            self.parts += parts
            while self.parts > self.max_parts:
                self.parts -= self.items.popitem(last=False)[1][1]
        return rows

    def clear(self) -> None:
        self.items.clear()
        self.parts = 0


LEVELS = LevelCache()


def forget() -> None:
    """Keep nothing from earlier reads (`DIGESTS`, `LEVELS`): the next read is summed as the first."""
    DIGESTS.clear()
    LEVELS.clear()


async def _digests(db: store.Db, account_periods: list[str]) -> dict[str, rules.Digest]:
    """The digests of a level's account-periods: one query for their summaries (one document each,
    whatever the number of inputs). What the summaries lack is read here: an entry reversed in another
    period, a receipt whose two topics' handlers ran at once, or before the other topic told. A summary
    read with the same facts as before is not summed again (`DIGESTS`)."""
    facts, stored, out = rules.Facts(), {}, {}
    for summary in await _find(db, store.UPSTREAM_PERIODS, {"_id": {"$in": account_periods}}):
        ap, entries = summary["_id"], summary.get(rules.ENTRIES) or {}
        facts.add(ap, summary)
        stored[ap] = entries
        hit = DIGESTS.get(ap, entries)
        if hit is not None:
            out[ap] = hit
    summed = [ap for ap in account_periods if ap not in out]  # a kept digest needs nothing looked up
    reversed_ = facts.reversed_missing(summed)
    if reversed_:
        facts.add_entries((e["_id"], rules.entry_fact_of(e))
                          for e in await _find(db, store.UPSTREAM_ENTRIES, {"_id": {"$in": reversed_}}))
    receipts = facts.receipts_missing(summed)
    if receipts:
        facts.add_receipts(await _find(db, store.UPSTREAM_RECEIPTS, {"_id": {"$in": receipts}}))
    for ap in summed:
        digest = out[ap] = rules.digest(facts, ap)
        entries = stored.get(ap)
        if entries and digest.local and all(facts.entries[k] is v for k, v in entries.items()):
            DIGESTS.put(ap, entries, digest)
    return out


async def _documents_drawn(db: store.Db, digests: Iterable[rules.Digest]) -> tuple[dict[str, str], dict[str, str]]:
    """document id -> the account-period it was drawn from, and -> its issuing site: from the facts, else
    (a document whose ledger event the gateway had not read when the receipt came) looked up."""
    drawn: dict[str, str] = {}
    documents: dict[str, str] = {}
    received: set[str] = set()
    for d in digests:
        drawn.update(d.drawn)
        documents.update(d.document_sites)
        received.update(d.documents)
    missing = sorted(received - set(drawn))
    if missing:
        found = {d["_id"]: d["document"] for d in await _find(db, store.DOCUMENTS, {"_id": {"$in": missing}})}
        documents.update({i: d["issuer_site_id"] for i, d in found.items()})
        by_movement = await _drawn_from(db, sorted({d["movement_id"] for d in found.values()}))
        drawn.update({i: by_movement[d["movement_id"]] for i, d in found.items() if d["movement_id"] in by_movement})
    return drawn, documents


async def compute(db: store.Db, record: dict[str, Any], max_levels: int = rules.MAX_LEVELS) -> Upstream:
    """The levels behind a stored CoC Document (`documents` read model record)."""
    document = record["document"]
    start = record.get("account_period") or (await _drawn_from(db, [document["movement_id"]])).get(
        document["movement_id"])
    weights = {start: Fraction(1)} if start else {}
    seen: set[str] = set(weights)
    levels: list[list[rules.Row]] = []
    documents: dict[str, str] = {}
    while weights and len(levels) < max_levels:
        aps = sorted(weights)
        digests = await _digests(db, aps)
        rows = LEVELS.level(weights, digests)
        if not rows:
            break
        levels.append(rows)
        drawn, found = await _documents_drawn(db, [digests[ap] for ap in aps])
        documents.update(found)
        weights = rules.next_weights(rows, drawn, seen)
        seen.update(weights)
    row_sites = [[_sites(r, documents) for r in level] for level in levels]
    site_ids = {document["issuer_site_id"]}.union(*(s for level in row_sites for s in level),
                                                  *(r.receiving_site_ids for level in levels for r in level))
    found, certificates = await asyncio.gather(_find(db, store.SITES, {"_id": {"$in": sorted(site_ids)}}),
                                               _certificates(db, sorted(site_ids), document["issued_on"]))
    sites = {s["_id"]: s for s in found}
    orgs = sorted({s["organisation_id"] for s in sites.values()} | {
        r.supplier_organisation_id for level in levels for r in level if r.supplier_organisation_id})
    members, named = await asyncio.gather(_find(db, store.MEMBERS, {"_id": {"$in": orgs}}),
                                          _find(db, store.MEMBER_SETTINGS, {"_id": {"$in": orgs}, "named": True}))
    return Upstream(document, levels, start, documents, sites, {m["_id"]: m for m in members}, certificates,
                    {m["_id"] for m in named}, row_sites)


def _sites(r: rules.Row, documents: dict[str, str]) -> list[str]:
    """The sites a row's material came from: the issuing sites of its documents, else the supplier's site."""
    issuers = sorted({documents[d] for d in r.documents if d in documents})
    return issuers or ([r.supplier_site_id] if r.supplier_site_id else [])


async def _certificates(db: store.Db, site_ids: list[str], day: str) -> dict[str, list[dict[str, Any]]]:
    """Per site, the certificates covering it, with their status on `day`."""
    certificates = await _find(db, store.CERTIFICATES, {"site_ids": {"$in": site_ids}})
    events = [] if not certificates else await _find(db, store.CERTIFICATE_EVENTS, {"certificate_id": {"$in": [c["_id"] for c in certificates]}},
                         {"certificate_id": 1, "occurred_at": 1, "payload.certificate.status": 1})
    revisions: dict[str, list[tuple[str, str]]] = {}
    for e in events:
        status = ((e.get("payload") or {}).get("certificate") or {}).get("status")
        if status:
            revisions.setdefault(e["certificate_id"], []).append((e["occurred_at"].isoformat(), status))
    out: dict[str, list[dict[str, Any]]] = {}
    for c in sorted(certificates, key=lambda c: (c.get("standard", ""), c.get("certificate_number", ""))):
        seen_status = rules.status_on(day, c.get("valid_until"), revisions.get(c["_id"], []))
        for site in c.get("site_ids", []):
            out.setdefault(site, []).append({"certificate_number": c.get("certificate_number"),
                                             "standard": c.get("standard"), "status_on_document_date": seen_status})
    return out


def issuer_certificates(u: Upstream) -> list[dict[str, Any]]:
    return u.certificates.get(u.document["issuer_site_id"], [])


def view(u: Upstream, caller: Principal | None, *, accounts: bool = False) -> dict[str, Any]:
    """The holder's view (`caller` given: it may read the document) or the public's (`caller` None): a
    level lists one source per supplier. `accounts` (the holder's only) adds, per source, what each
    receiving account's period contributed to it."""
    d = u.document
    owners = {s: v["organisation_id"] for s, v in u.sites.items()}
    accounts_of = _Owners(owners)
    levels = []
    for n, rows in enumerate(u.levels, start=1):
        shares = rules.apportion([r.share for r in rows])
        row_sites = u.row_sites[n - 1] if u.row_sites else [_sites(r, u.documents) for r in rows]
        sources = [_source(u, r, sites, share, caller, owners, accounts_of)
                   for r, sites, share in zip(rows, row_sites, shares, strict=True)]
        if caller is not None and accounts:
            parts = [(source, ap, part) for source, r in zip(sources, rows, strict=True)
                     for ap, part in sorted(r.accounts.items())]
            for (source, ap, part), share in zip(parts, rules.apportion([p.share for _, _, p in parts]), strict=True):
                source.setdefault("accounts", []).append(_account(ap, part, share, caller, accounts_of))
        levels.append({"level": n, "shares_add_up_to": str(sum(shares)), "sources": sources})
    return {
        "document_id": d["document_id"], "issued_on": d["issued_on"], "product_form": d["product_form"],
        "material_category": d["material_category"],
        "issuer": _site(u, d["issuer_site_id"], caller, d["issuer_organisation_id"]),
        "view": "holder" if caller else "public",
        "method": "mass balance: the CoC inputs the account the document was drawn from booked in that period, "
                  "with their shares; not a physical trace",
        "levels": levels,
    }


def _site(u: Upstream, site_id: str | None, caller: Principal | None, organisation_id: str | None) -> dict[str, Any]:
    site = u.sites.get(site_id or "") or {}
    org = site.get("organisation_id") or organisation_id
    out: dict[str, Any] = {"country": site.get("country"), "activities": site.get("activities", []),
                           "certificate_numbers" if caller is None else "certificates": [
                               c["certificate_number"] for c in u.certificates.get(site_id or "", [])]
                           if caller is None else u.certificates.get(site_id or "", [])}
    if caller is not None or (org in u.named):
        out.update(organisation_id=org, name=(u.members.get(org or "") or {}).get("name"))
    if caller is not None:
        out.update(site_id=site_id, site_name=site.get("name"))
    return out


class _Owners(dict[str, str | None]):
    """The organisation owning each account, looked up once (a wide level names the same few hundred
    accounts thousands of times)."""

    def __init__(self, site_owners: dict[str, str]) -> None:
        super().__init__()
        self.site_owners = site_owners

    def __missing__(self, account_id: str) -> str | None:
        self[account_id] = account_organisation(account_id, self.site_owners)
        return self[account_id]


def _own(caller: Principal, organisation_id: str | None) -> bool:
    return caller.is_secretariat or organisation_id == caller.organisation_id


def _source(u: Upstream, r: rules.Row, sites: list[str], share: Any, caller: Principal | None,
            owners: dict[str, str], accounts: _Owners) -> dict[str, Any]:
    sites = sites if r.kind != rules.NON_COC else []
    supplier = r.supplier_organisation_id or (owners.get(sites[0]) if sites else None)
    out: dict[str, Any] = {"kind": r.kind, "share": str(share),
                           "material_categories": sorted(r.material_categories),
                           "sites": [_site(u, s, caller, supplier) for s in sites]}
    if not sites and supplier and (caller is not None or supplier in u.named):
        out["supplier"] = {"organisation_id": supplier, "name": (u.members.get(supplier) or {}).get("name")}
    if caller is not None:
        into = {a: accounts[a] for a in {p.account_id for p in r.accounts.values()}}
        every, mine = caller.is_secretariat, caller.organisation_id  # `_own`, once per row
        own = [p.coc_kg for p in r.accounts.values() if every or into[p.account_id] == mine]
        out.update(into_organisation_ids=sorted({o for o in into.values() if o}),
                   coc_mass_kg=str(sum(own, Decimal(0))) if own else None)
    return out


def _account(account_period: str, part: rules.Part, share: Any, caller: Principal,
             accounts: _Owners) -> dict[str, Any]:
    into = accounts[part.account_id]
    return {"account_id": part.account_id, "period_id": account_period.partition("|")[2],
            "into_organisation_id": into, "share": str(share), "document_ids": sorted(part.documents),
            "coc_mass_kg": str(part.coc_kg) if _own(caller, into) else None}
