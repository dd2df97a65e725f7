"""Claims spend mass, for any sequence of claim requests, approvals, usage reports, revocations,
expiries, withdrawals, rejections and timeouts, with deliveries duplicated and interleaved in any
order."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from contracts.claims import ClaimReason
from contracts.registry import CertificateStatus
from services.claims.domain import saga
from services.claims.domain.saga import Status
from tests.unit.claims.simulation import Sim

UNITS = (500_000, 1_000_000, 2_000_000)  # 6.5 t, 13 t, 26 t of aluminium at 13 g a can

deliver = st.one_of(
    st.tuples(st.just("settle")),
    st.tuples(st.just("accounting"), st.booleans()),
    st.tuples(st.just("settle")),
    st.tuples(st.just("claims"), st.booleans()),
)
step = st.one_of(
    st.tuples(st.just("request"), st.integers(0, 2)),
    deliver,
    st.tuples(
        st.just("report"),
        st.integers(0, 2),
        st.integers(0, 2),
        st.sampled_from([100_000, 400_000, 1_500_000]),
    ),
    deliver,
    st.tuples(st.just("withdraw"), st.integers(0, 2)),
    deliver,
    st.tuples(
        st.just("report"), st.integers(0, 2), st.integers(0, 2), st.sampled_from([100_000, 400_000])
    ),
    deliver,
    st.one_of(
        st.tuples(
            st.just("own"),
            st.sampled_from(
                [
                    CertificateStatus.SUSPENDED,
                    CertificateStatus.WITHDRAWN,
                    CertificateStatus.EXPIRED,
                ]
                + [CertificateStatus.ACTIVE] * 3
            ),
        ),
        st.tuples(
            st.just("supplier"),
            st.sampled_from([CertificateStatus.SUSPENDED] + [CertificateStatus.ACTIVE] * 2),
        ),
        st.tuples(st.just("tick")),
    ),
)

cases = st.tuples(
    st.lists(
        st.sampled_from([Decimal(6500), Decimal(13000), Decimal(20000)]), min_size=1, max_size=3
    ),
    st.lists(st.sampled_from(UNITS), min_size=4, max_size=4),
    st.lists(step, min_size=10, max_size=40),
)

SUSPEND_AND_REINSTATE_A_SUPPLIER = (
    [Decimal(13000)],
    [1_000_000] * 4,
    [
        ("request", 0),
        ("accounting", False),
        ("claims", False),
        ("accounting", False),
        ("supplier", CertificateStatus.SUSPENDED),
        ("supplier", CertificateStatus.ACTIVE),
        ("request", 1),
    ],
)
USED_THEN_WITHDRAWN_WITH_DUPLICATES = (
    [Decimal(20000)],
    [1_000_000] * 4,
    [
        ("request", 0),
        ("accounting", False),
        ("accounting", True),
        ("claims", False),
        ("claims", True),
        ("report", 0, 0, 400_000),
        ("report", 0, 0, 400_000),
        ("report", 0, 1, 1_500_000),
        ("withdraw", 0),
        ("withdraw", 0),
        ("request", 1),
    ],
)
REVOKED_THEN_WITHDRAWN = (
    [Decimal(13000)],
    [1_000_000] * 4,
    [
        ("request", 0),
        ("accounting", False),
        ("claims", False),
        ("own", CertificateStatus.SUSPENDED),
        ("withdraw", 0),
        ("own", CertificateStatus.ACTIVE),
        ("request", 1),
    ],
)
TIMED_OUT_THEN_GRANTED = (
    [Decimal(13000)],
    [1_000_000] * 4,
    [("request", 0), ("accounting", False), ("tick",), ("claims", False), ("request", 1)],
)


def play(case) -> Sim:
    receipts, units, steps = case
    sim = Sim(list(receipts), dict(enumerate(units)))
    for s in steps:
        kind = s[0]
        if kind == "request":
            sim.request(s[1])
        elif kind == "withdraw":
            sim.withdraw(s[1])
        elif kind == "report":
            sim.report(s[1], s[2], s[3])
        elif kind == "own":
            sim.own(s[1])
        elif kind == "supplier":
            sim.supplier(s[1])
        elif kind == "tick":
            sim.tick()
        elif kind == "settle":
            sim.drain()
        elif kind == "accounting":
            sim.deliver_to_accounting(again=s[1])
        else:
            sim.deliver_to_claims(again=s[1])
        sim.check()
    sim.drain()
    sim.check()
    sim.check_settled()
    return sim


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases)
@example(SUSPEND_AND_REINSTATE_A_SUPPLIER)
@example(USED_THEN_WITHDRAWN_WITH_DUPLICATES)
@example(REVOKED_THEN_WITHDRAWN)
@example(TIMED_OUT_THEN_GRANTED)
def test_claims_never_spend_more_than_received_nor_a_kilogram_twice_nor_return_more_than_unused(
    case,
):
    play(case)


def test_a_suppliers_suspension_and_reinstatement_leave_the_approval_and_its_mass_spent():
    sim = play(SUSPEND_AND_REINSTATE_A_SUPPLIER)
    assert sim.claims["claim-0"].status is Status.APPROVED
    second = sim.claims["claim-1"]
    assert second.status is Status.REJECTED
    [rejected] = [e for c, e in sim.decisions if c == "claim-1" and isinstance(e, saga.Rejected)]
    named = [r for r in rejected.reasons if r.code == ClaimReason.MASS_ALREADY_CLAIMED]
    assert [r.field for r in named] == ["product"] and "claim-0" in named[0].message


def test_a_withdrawal_after_usage_returns_the_unused_part_once():
    sim = play(USED_THEN_WITHDRAWN_WITH_DUPLICATES)
    first = sim.claims["claim-0"]
    # 400,000 cans used (5.2 t); the 1.5 million more for the next quarter would exceed the
    # approval.
    assert first.used.used_units == 400_000 and first.returned_kg == Decimal("7800.000")
    assert sim.books.allocations["brand-1|claim-0"].returned == Decimal("7800.000")
    refused = [e for c, e in sim.decisions if c == "claim-0" and isinstance(e, saga.Refused)]
    assert [(r.code, r.field) for e in refused for r in e.reasons] == [
        (ClaimReason.USAGE_EXCEEDS_APPROVED, "units")
    ]
    # 20 t received, 5.2 t stays spent: the second claim's 13 t fits in what is left.
    assert sim.claims["claim-1"].status is Status.APPROVED


def test_a_revoked_claim_keeps_its_mass_spent_even_when_withdrawn_afterwards():
    sim = play(REVOKED_THEN_WITHDRAWN)
    assert (
        sim.claims["claim-0"].status is Status.WITHDRAWN
        and sim.claims["claim-0"].returned_kg is None
    )
    assert sim.books.allocations["brand-1|claim-0"].returned == 0
    assert sim.claims["claim-1"].status is Status.REJECTED
