"""The claims saga and accounting's claim books (both pure) joined by in-memory partitions.

Claims' ledger commands reach accounting in order (one `owner:<org>` partition) and accounting's
answers reach claims in order; any message may be delivered twice. The brand owner's inputs,
certificate changes and the clock interleave with the deliveries in any order.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from contracts.claims import ClaimProduct
from contracts.ledger import EntryKind
from contracts.registry import Certificate, CertificateStatus
from services.accounting.domain import claims_mass
from services.accounting.domain.ledger import DEBITED, AllocationDenied, Granted, Ledger
from services.accounting.domain.state import allocation_key
from services.claims.domain import saga
from services.claims.domain.checks import Allocation, Registry
from services.claims.domain.rule_sets import wording_rules
from services.claims.domain.saga import Claim, Status
from tests.unit.accounting import factories
from tests.unit.claims.builders import BRAND, NOW, coc, ps, request, review, usage

RULES = wording_rules()
TIMEOUT = timedelta(seconds=30)
SUPPLIER = "can-maker"
PERIODS = (
    (date(2026, 7, 1), date(2026, 9, 30)),
    (date(2026, 10, 1), date(2026, 12, 31)),
    (date(2027, 1, 1), date(2027, 3, 31)),
)


def supplier_certificate(status: CertificateStatus, revision: int) -> Certificate:
    return coc(
        org=SUPPLIER,
        number="ASI-COC-2026-000077",
        certificate_id="cert-can-maker",
        status=status,
        revision=revision,
    )


def own_certificate(status: CertificateStatus, revision: int) -> Certificate:
    return coc(status=status, revision=revision)


@dataclass
class Sim:
    receipts_kg: list[Decimal]
    units: dict[int, int] = field(default_factory=dict)
    books: Ledger = field(init=False)
    claims: dict[str, Claim] = field(default_factory=dict)
    certificates: dict[str, Certificate] = field(default_factory=dict)
    to_accounting: deque[tuple[str, Any]] = field(default_factory=deque)
    to_claims: deque[tuple[str, Any]] = field(default_factory=deque)
    last: dict[str, tuple[str, Any] | None] = field(
        default_factory=lambda: {"accounting": None, "claims": None}
    )
    decisions: list[tuple[str, Any]] = field(default_factory=list)
    now: Any = NOW
    revision: int = 1

    def __post_init__(self) -> None:
        self.books = factories.ledger("v3-draft-group-credit", org=BRAND)
        for i, kg in enumerate(self.receipts_kg):
            self.books.apply(
                factories.receipt(
                    str(kg),
                    str(kg),
                    org=BRAND,
                    document=f"doc-{i}",
                    day=date(2026, 3, 1) + timedelta(days=i),
                ),
                factories.NOW,
            )
        for c in (ps(), coc(), supplier_certificate(CertificateStatus.ACTIVE, 1)):
            self.certificates[c.certificate_id] = c

    @property
    def credited(self) -> Decimal:
        return sum(
            (e.coc_credit_kg for e in self.books.entries if e.kind is EntryKind.RECEIPT_CREDIT),
            Decimal(0),
        )

    def registry(self) -> Registry:
        return Registry(frozenset({BRAND, SUPPLIER}), tuple(self.certificates.values()))

    # ---- claims ----

    def _emit(self, claim: Claim, effects: list[saga.Effect]) -> None:
        for effect in effects:
            if isinstance(effect, saga.Allocate | saga.Release | saga.Debit | saga.ReturnUnused):
                self.to_accounting.append((claim.claim_id, effect))
            else:
                self.decisions.append((claim.claim_id, effect))

    def request(self, i: int) -> None:
        claim_id = f"claim-{i}"
        units = self.units.setdefault(i, 1_000_000)
        product = ClaimProduct(
            product_id="GTIN-05000112637922",
            name="Cola 330 ml can",
            aluminium_mass_per_unit_kg=Decimal("0.013"),
            units=units,
            supplier_organisation_ids=[SUPPLIER],
        )
        message = request(claim_id=claim_id, product=product)
        claim = self.claims.get(claim_id)
        if claim is None:
            claim, effects = Claim.requested(
                message, f"h{i}", self.registry(), RULES, self.now, TIMEOUT
            )
            self.claims[claim_id] = claim
        else:
            effects = claim.resubmitted(message, f"h{i}")
        self._emit(claim, effects)

    def withdraw(self, i: int) -> None:
        claim = self.claims.get(f"claim-{i}")
        if claim is not None:
            self._emit(claim, claim.withdrawn(BRAND, "withdrawn"))

    def report(self, i: int, period: int, units: int) -> None:
        claim = self.claims.get(f"claim-{i}")
        if claim is not None:
            start, end = PERIODS[period]
            self._emit(
                claim,
                claim.usage_reported(
                    usage(units, claim_id=claim.claim_id, start=start, end=end), BRAND
                ),
            )

    def certificate(self, certificate: Certificate) -> None:
        self.certificates[certificate.certificate_id] = certificate
        for claim in self.claims.values():
            self._emit(claim, claim.certificate_changed(certificate, self.now.date()))

    def own(self, status: CertificateStatus) -> None:
        self.revision += 1
        self.certificate(own_certificate(status, self.revision))

    def supplier(self, status: CertificateStatus) -> None:
        self.revision += 1
        self.certificate(supplier_certificate(status, self.revision))

    def tick(self) -> None:
        self.now += TIMEOUT + timedelta(seconds=1)
        for claim in self.claims.values():
            self._emit(claim, claim.clock(self.now))

    # ---- deliveries ----

    def deliver_to_accounting(self, again: bool = False) -> None:
        item = (
            self.last["accounting"]
            if again
            else (self.to_accounting.popleft() if self.to_accounting else None)
        )
        if item is None:
            return
        self.last["accounting"] = item
        claim_id, effect = item
        day = self.now.date()
        if isinstance(effect, saga.Allocate):
            outcomes = claims_mass.allocate(self.books, claim_id, BRAND, effect.mass_kg, day)
        elif isinstance(effect, saga.Release):
            outcomes = claims_mass.release(self.books, claim_id, BRAND, day)
        elif isinstance(effect, saga.Debit):
            outcomes = claims_mass.debit(self.books, claim_id, BRAND, effect.mass_kg, day)
        else:
            outcomes = claims_mass.return_unused(
                self.books, claim_id, BRAND, effect.mass_kg, effect.used_kg, day
            )
        for outcome in outcomes:
            if isinstance(outcome, Granted | AllocationDenied):
                self.to_claims.append((claim_id, outcome))

    def deliver_to_claims(self, again: bool = False) -> None:
        item = (
            self.last["claims"] if again else (self.to_claims.popleft() if self.to_claims else None)
        )
        if item is None:
            return
        self.last["claims"] = item
        claim_id, answer = item
        claim = self.claims[claim_id]
        if isinstance(answer, Granted):
            a = answer.allocation
            effects = claim.granted(
                Allocation(
                    mass_kg=a.mass,
                    account_ids=tuple(sorted(a.reservations)),
                    document_ids=tuple(d.document_id for d in a.documents),
                ),
                self.registry(),
                RULES,
                self.now,
            )
            if (
                claim.status is Status.AWAITING_REVIEW
            ):  # the secretariat approves from its queue (issue 18 item 1)
                effects += claim.reviewed(
                    review(claim_id=claim_id, at=self.now), self.registry(), RULES, self.now
                )
        else:
            effects = claim.refused(
                "not enough CoC mass", self.registry(), RULES, self.now, held_by=answer.held_by
            )
        self._emit(claim, effects)

    def drain(self) -> None:
        while self.to_accounting or self.to_claims:
            self.deliver_to_accounting()
            self.deliver_to_claims()

    # ---- the invariants ----

    def check(self) -> None:
        """What must hold at every step."""
        credited = self.credited
        debits = -sum(
            (e.coc_credit_kg for e in self.books.entries if e.kind is EntryKind.CLAIM_DEBIT),
            Decimal(0),
        )
        returns = sum(
            (e.coc_credit_kg for e in self.books.entries if e.kind is EntryKind.CLAIM_RETURN),
            Decimal(0),
        )
        # The sum of claim debits on an account (less what withdrawals returned) never exceeds the
        # CoC credits it received.
        assert returns <= debits and debits - returns <= credited
        # No kilogram backs two claims: reserved plus spent-and-not-returned fits in what was
        # received, and no document's mass is held twice.
        held = sum((claims_mass.held(a) for a in self.books.allocations.values()), Decimal(0))
        assert held <= credited and held == debits - returns + sum(
            (a.reserved for a in self.books.accounts.values()), Decimal(0)
        )
        for lot in self.books.lots.values():
            taken = sum(
                (
                    a.lot_takes.get(lot.lot_id, Decimal(0))
                    for a in self.books.allocations.values()
                    if a.status != "released"
                ),
                Decimal(0),
            )
            assert lot.allocated == taken <= lot.mass
        for account in self.books.accounts.values():
            assert Decimal(0) <= account.reserved <= account.balance
        # A withdrawal never returns more than the unused part.
        for claim in self.claims.values():
            allocation = self.books.allocations.get(allocation_key(claim.claimant, claim.claim_id))
            if allocation is not None and allocation.returned > 0:
                assert claim.approved_kg is not None
                assert allocation.returned + claim.used.used_kg <= claim.approved_kg
                assert allocation.returned == claim.returned_kg
            if claim.approved_kg is not None:
                assert claim.used.used_kg <= claim.approved_kg

    def check_settled(self) -> None:
        """Once every message is delivered, the two services agree on every claim's mass."""
        for claim in self.claims.values():
            allocation = self.books.allocations.get(allocation_key(claim.claimant, claim.claim_id))
            spent = allocation is not None and allocation.status == DEBITED
            assert claim.status is not Status.PENDING or not spent
            if claim.approved_kg is not None:
                assert spent and allocation.mass == claim.approved_kg
                assert allocation.returned == (claim.returned_kg or 0)
            else:
                assert not spent and (
                    allocation is None
                    or allocation.status != "granted"
                    or claim.status is Status.PENDING
                )
