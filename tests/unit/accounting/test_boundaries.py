"""The edges of the accounting rules (issue 24): credits reserved for claims stay out of a
transformation, the rule-set catalogue and the day an assignment takes effect."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from contracts.common import MaterialCategory, ProcessStep
from contracts.ledger import EntryKind
from contracts.movements import MovementLine
from contracts.registry import CertificateStatus
from services.accounting.domain.chain import ChainBreak, verify_chain
from services.accounting.domain.conversion import bucket_key, convert
from services.accounting.domain.freezing import account_states
from services.accounting.domain.ledger import EntryPosted, Ledger
from services.accounting.domain.reservations import expirable
from services.accounting.domain.rules import (
    CATALOGUE,
    DEFAULT_RULE_SET,
    V2_2022_GROUP_PERCENTAGE,
    V3_DRAFT_GROUP_CREDIT,
    V3_DRAFT_SITE_CREDIT,
    Assignment,
    Rounding,
    rule_set,
    rule_set_on,
)
from tests.unit.accounting.factories import (
    NOW,
    ORG,
    cancel,
    certificate,
    group,
    ledger,
    ps_certificate,
    receipt,
    ship,
    transform,
)

ALUMINA = bucket_key(MaterialCategory.ALUMINA, "alumina")
SCRAP = bucket_key(MaterialCategory.PRE_CONSUMER_SCRAP, "scrap")


def line(category: MaterialCategory, form: str, kg: str) -> MovementLine:
    return MovementLine(material_category=category, product_form=form, quantity_kg=Decimal(kg))


def test_a_transformation_converts_no_more_than_the_free_credits_over_all_its_inputs():
    # 100 kg of each input product holds credits, but only 120 kg are free: the rest is reserved
    # for claims. The first line takes 100, the second only the 20 left.
    inputs = [
        line(MaterialCategory.ALUMINA, "alumina", "100"),
        line(MaterialCategory.PRE_CONSUMER_SCRAP, "scrap", "100"),
    ]
    outputs = [line(MaterialCategory.ALUMINIUM, "ingot", "200")]
    held = {ALUMINA: Decimal(100), SCRAP: Decimal(100)}
    conversion = convert(inputs, outputs, Decimal(1), held, Decimal(120), Rounding())
    assert conversion.taken == {ALUMINA: Decimal(100), SCRAP: Decimal(20)}
    assert conversion.coc_input_kg == Decimal(120)
    assert conversion.created == Decimal(120)


def test_a_transformation_with_every_credit_free_converts_what_its_inputs_hold():
    inputs = [
        line(MaterialCategory.ALUMINA, "alumina", "100"),
        line(MaterialCategory.PRE_CONSUMER_SCRAP, "scrap", "100"),
    ]
    outputs = [line(MaterialCategory.ALUMINIUM, "ingot", "200")]
    held = {ALUMINA: Decimal(100), SCRAP: Decimal(100)}
    conversion = convert(inputs, outputs, Decimal("0.5"), held, Decimal(200), Rounding())
    assert conversion.coc_input_kg == Decimal(200)
    assert conversion.created == Decimal(100)


def test_every_catalogued_rule_set_is_found_by_its_id_and_an_unknown_id_is_none():
    for rule_set_id, rules in CATALOGUE.items():
        assert rule_set(rule_set_id) is rules
    assert rule_set("v9-unknown") is None
    assert len(CATALOGUE) == 3


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 31), DEFAULT_RULE_SET),  # the day before the assignment takes effect
        (date(2027, 1, 1), V3_DRAFT_SITE_CREDIT),  # the day it does
        (date(2027, 6, 30), V3_DRAFT_SITE_CREDIT),
        (date(2027, 7, 1), V3_DRAFT_GROUP_CREDIT),  # a later assignment, on its first day
    ],
)
def test_the_rule_set_in_force_from_the_day_its_assignment_takes_effect(day, expected):
    assignments = [
        Assignment(date(2027, 7, 1), V3_DRAFT_GROUP_CREDIT.rule_set_id),
        Assignment(date(2027, 1, 1), V3_DRAFT_SITE_CREDIT.rule_set_id),
    ]
    assert rule_set_on(assignments, day) is expected


def test_an_assignment_to_an_unknown_rule_set_keeps_the_one_in_force():
    assignments = [
        Assignment(date(2027, 1, 1), V3_DRAFT_SITE_CREDIT.rule_set_id),
        Assignment(date(2027, 3, 1), "v9-unknown"),
    ]
    assert rule_set_on(assignments, date(2027, 4, 1)) is V3_DRAFT_SITE_CREDIT


# ---- cancellations: the CoC Document voided, the period's figures taken back ----

GROUP_CREDIT = V3_DRAFT_GROUP_CREDIT.rule_set_id


def test_cancelling_a_receipt_voids_its_coc_document():
    books = ledger(GROUP_CREDIT)
    original = receipt("1000", "400", recycled="0.5")
    books.apply(original, NOW)
    [lot] = books.lots.values()
    assert (lot.document_id, lot.remaining, lot.void) == ("doc-in-1", Decimal(400), False)
    books.apply(cancel(original.movement_id), NOW)
    assert lot.void is True and lot.remaining == 0
    assert books.movements[str(original.movement_id)].status == "reversed"


def test_cancelling_a_receipt_in_its_period_takes_back_every_input_figure():
    books = ledger(GROUP_CREDIT)
    kept = receipt("500", "100", recycled="0.2")
    original = receipt("1000", "400", recycled="0.5")
    books.apply(kept, NOW)
    books.apply(original, NOW)
    books.apply(cancel(original.movement_id), NOW)
    period = books.accounts[group()].period
    assert (period.coc_input, period.total_input) == (Decimal(100), Decimal(500))
    only_kept = ledger(GROUP_CREDIT)
    only_kept.apply(kept, NOW)
    # The recycled composition too: as if the cancelled receipt had never come.
    assert period.recycled == only_kept.accounts[group()].period.recycled != {}
    assert sum(period.site_coc_input.values()) == Decimal(100)
    assert books.accounts[group()].balance == Decimal(100)


def test_cancelling_a_shipment_in_its_period_takes_back_its_output_figures():
    books = ledger(GROUP_CREDIT)
    books.apply(receipt("1000", "400"), NOW)
    kept = ship("300", "100")
    original = ship("200", "50")
    books.apply(kept, NOW)
    books.apply(original, NOW)
    books.apply(cancel(original.movement_id), NOW)
    period = books.accounts[group()].period
    assert (period.coc_output, period.total_output) == (Decimal(100), Decimal(300))
    assert books.accounts[group()].balance == Decimal(300)


# ---- closing a period: the next period's rule set, when it keeps the account's level ----


@pytest.mark.parametrize(
    ("assigned", "next_rule_set"),
    [
        (V2_2022_GROUP_PERCENTAGE, V2_2022_GROUP_PERCENTAGE),  # same level: it takes over
        (V3_DRAFT_SITE_CREDIT, V3_DRAFT_GROUP_CREDIT),  # site level: the group account keeps its
    ],
)
def test_the_next_period_takes_a_new_rule_set_only_at_the_accounts_level(assigned, next_rule_set):
    assignments = {
        ORG: [
            Assignment(date(2000, 1, 1), GROUP_CREDIT),
            Assignment(date(2027, 1, 1), assigned.rule_set_id),
        ]
    }
    books = Ledger(assignments=assignments, certificates=[certificate(), ps_certificate()])
    books.apply(receipt("1000", "400"), NOW)
    assert books.accounts[group()].rule_set_id == GROUP_CREDIT
    books.close_due(date(2027, 1, 2), NOW)
    account = books.accounts[group()]
    assert account.period.start == date(2027, 1, 1)
    assert account.rule_set_id == next_rule_set.rule_set_id


# ---- expiry keeps the credits reserved for claims ----

INGOT = bucket_key(MaterialCategory.ALUMINIUM, "ingot")
SHEET = bucket_key(MaterialCategory.ALUMINIUM, "sheet")
EARLY, LATE = date(2025, 1, 1), date(2025, 2, 1)


def test_expiry_keeps_the_reserved_kilograms_of_the_claim_material_youngest_first():
    due = [(INGOT, EARLY, Decimal(100)), (ALUMINA, EARLY, Decimal(50)), (SHEET, LATE, Decimal(30))]
    # 40 kg reserved: the 30 kg of sheet (youngest) and 10 kg of ingot are kept; alumina never backs
    # a claim, so it expires whole.
    assert expirable(due, Decimal(40)) == [
        (INGOT, EARLY, Decimal(90)),
        (ALUMINA, EARLY, Decimal(50)),
    ]


@pytest.mark.parametrize(
    ("reserved", "expired"),
    [
        (Decimal(0), [(INGOT, EARLY, Decimal(100)), (SHEET, LATE, Decimal(30))]),
        (Decimal("0.5"), [(INGOT, EARLY, Decimal(100)), (SHEET, LATE, Decimal("29.5"))]),
        (Decimal(30), [(INGOT, EARLY, Decimal(100))]),
        (Decimal(130), []),
        (Decimal(500), []),
    ],
)
def test_expiry_around_the_reserved_amount(reserved, expired):
    due = [(INGOT, EARLY, Decimal(100)), (SHEET, LATE, Decimal(30))]
    assert expirable(due, reserved) == expired


# ---- the audit trail: every break named with its account, sequence and problem ----


def test_a_deleted_entry_is_named_as_a_gap_and_a_broken_link():
    books = ledger(GROUP_CREDIT)
    books.apply(receipt("1000", "500"), NOW)
    books.apply(ship("300", "200"), NOW)
    books.apply(receipt("100", "100"), NOW)
    first, _, third = books.entries
    assert verify_chain([first, third]) == [
        ChainBreak(group(), 3, "expected sequence 2"),
        ChainBreak(group(), 3, "previous_hash does not link to the prior entry"),
    ]
    forged = third.model_copy(update={"coc_credit_kg": Decimal(1)})
    assert verify_chain([*books.entries[:2], forged]) == [
        ChainBreak(group(), 3, "hash does not match the entry's content")
    ]


# ---- which accounts a certificate change freezes ----


@pytest.mark.parametrize(
    ("status", "frozen"),
    [(CertificateStatus.ACTIVE, False), (CertificateStatus.SUSPENDED, True)],
)
def test_site_accounts_follow_each_sites_certificate(status, frozen):
    cert = certificate(status=status, sites=("site-a", "site-b"))
    states = account_states(V3_DRAFT_SITE_CREDIT, [cert, ps_certificate()], ORG, date(2026, 6, 1))
    assert [(s.account_id, s.frozen, s.certificate) for s in states] == [
        ("site:site-a", frozen, cert),
        ("site:site-b", frozen, cert),
    ]


@pytest.mark.parametrize(
    ("status", "frozen"),
    [(CertificateStatus.ACTIVE, False), (CertificateStatus.SUSPENDED, True)],
)
def test_a_scopes_pooled_account_follows_its_certificate(status, frozen):
    cert = certificate(status=status)
    states = account_states(V3_DRAFT_GROUP_CREDIT, [cert], ORG, date(2026, 6, 1))
    assert [(s.account_id, s.frozen, s.certificate) for s in states] == [(group(), frozen, cert)]


# ---- mining: where CoC Material originates ----


def _mined(site: str = "site-a"):
    return transform(
        [(MaterialCategory.BAUXITE, "ore", "1200")],
        [(MaterialCategory.BAUXITE, "ore", "1000"), (MaterialCategory.BAUXITE, "fines", "200")],
        "1",
        step=ProcessStep.MINING,
        site=site,
    )


def test_mining_at_a_certified_site_originates_coc_credits_and_books_the_movement():
    books = ledger(GROUP_CREDIT)
    mined = _mined()
    [entry] = [o.entry for o in books.apply(mined, NOW) if isinstance(o, EntryPosted)]
    assert (entry.kind, entry.movement_id, entry.site_id) == (
        EntryKind.TRANSFORMATION,
        mined.movement_id,
        "site-a",
    )
    assert (entry.coc_input_kg, entry.total_input_kg) == (Decimal(1200), Decimal(1200))
    assert entry.credit_buckets_kg == {"bauxite|ore": Decimal(1000), "bauxite|fines": Decimal(200)}
    assert entry.note == "mining: 1200.000 kg of CoC Material originated at a certified site"
    period = books.accounts[group()].period
    assert period.inputs_by_category == {"bauxite": Decimal(1200)}
    assert books.movements[str(mined.movement_id)].status == "booked"
    reversals = entries_of(books.apply(cancel(mined.movement_id), NOW))
    assert [(e.kind, e.reverses_entry_id) for e in reversals] == [
        (EntryKind.REVERSAL, entry.entry_id)
    ]
    assert books.accounts[group()].balance == 0


def test_mining_at_a_site_no_certificate_covers_is_non_coc_input():
    books = ledger(GROUP_CREDIT)
    books.apply(receipt("10", "10"), NOW)
    outcomes = books.apply(_mined("site-z"), NOW)
    notes = [o.entry.note for o in outcomes if isinstance(o, EntryPosted)]
    assert notes == ["mining at a site no current CoC certificate covers: non-CoC input"]


def entries_of(outcomes):
    return [o.entry for o in outcomes if isinstance(o, EntryPosted)]
