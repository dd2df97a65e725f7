"""How accounting stores a movement record and a lot: what is read back is exactly what was
saved, decimals with their exponents, and records stored in the earlier form still read."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.accounting.adapters import encoding
from services.accounting.domain.rules import ZERO
from services.accounting.domain.state import BOOKED, Effect, MovementRecord
from tests.unit.accounting.factories import NOW, ORG, ledger, receipt

KEYS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
DECIMALS = st.decimals(allow_nan=False, allow_infinity=False, places=3) | st.sampled_from(
    [ZERO, Decimal("0"), Decimal("-0.000"), Decimal("1E+3"), Decimal("12.50")]
)
TEXTS = st.none() | st.text(max_size=10)

EFFECTS = st.builds(
    Effect,
    account_id=st.text(max_size=20),
    entry_id=st.text(max_size=20),
    period_id=st.text(max_size=10),
    site_id=st.text(max_size=10),
    credit=DECIMALS,
    coc_input=DECIMALS,
    total_input=DECIMALS,
    coc_output=DECIMALS,
    total_output=DECIMALS,
    category=TEXTS,
    site_input=DECIMALS,
    buckets=st.dictionaries(KEYS, DECIMALS, max_size=3),
    vintage=TEXTS,
    non_coc=TEXTS,
    step_key=TEXTS,
    step=st.dictionaries(KEYS, DECIMALS, max_size=3),
    inflows=st.dictionaries(KEYS, st.dictionaries(KEYS, DECIMALS, max_size=3), max_size=2),
)


def exact(value: object) -> object:
    """The value with every Decimal as its exact text (0 and 0.000 differ, as in a hash)."""
    if isinstance(value, Decimal):
        return ("D", str(value))
    if isinstance(value, dict):
        return {k: exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [exact(v) for v in value]
    if isinstance(value, Effect):
        return exact(vars(value))
    if isinstance(value, MovementRecord):
        return exact(vars(value))
    return value


@settings(max_examples=40, deadline=None)
@given(st.lists(EFFECTS, max_size=2), TEXTS, TEXTS)
@example(
    [Effect("a", "e", "p", "s", credit=Decimal("0"), coc_input=Decimal("-0.000"), site_input=ZERO)],
    None,
    None,
)
def test_a_movement_record_comes_back_exactly(effects, lot_id, by):
    record = MovementRecord("m-1", BOOKED, effects, lot_id, by, ORG, '{"kind":"x"}')
    back = encoding.movement_from(encoding.movement_doc(record))
    assert exact(back) == exact(record)


def test_an_effect_is_stored_as_compact_text_without_its_defaults():
    books = ledger()
    movement = receipt("1000", "400")
    books.apply(movement, NOW)
    doc = encoding.movement_doc(books.movements[str(movement.movement_id)])
    assert isinstance(doc["effects"], str)
    [stored] = json.loads(doc["effects"])
    assert stored["credit"] == "400.000" and stored["total_input"] == "1000.000"
    assert "coc_output" not in stored and "non_coc" not in stored and "step" not in stored


def test_a_record_stored_before_effects_were_text_still_reads():
    """Records written by earlier versions hold a list of effect documents (maps as pairs)."""
    doc = {
        "_id": "m-1",
        "status": BOOKED,
        "lot_id": None,
        "by": None,
        "effects": [
            {
                "account_id": "a",
                "entry_id": "e",
                "period_id": "p",
                "site_id": "s",
                "credit": Decimal("4.000"),
                "coc_input": ZERO,
                "total_input": ZERO,
                "coc_output": ZERO,
                "total_output": ZERO,
                "category": None,
                "site_input": ZERO,
                "vintage": None,
                "non_coc": None,
                "step_key": None,
                "step": {},
                "recycled": "ignored",
                "buckets": [["aluminium|ingot", Decimal("4.000")]],
            }
        ],
    }
    [effect] = encoding.movement_from(doc).effects
    assert effect.credit == Decimal("4.000") and effect.buckets == {
        "aluminium|ingot": Decimal("4.000")
    }
    assert effect.inflows == {}


def test_a_lot_is_stored_without_its_unset_fields_and_comes_back_equal():
    books = ledger()
    books.apply(receipt("100", document="doc-1"), NOW)
    [lot] = books.lots.values()
    doc = encoding.lot_doc(lot)
    assert "carbon_footprint" not in doc and doc["void"] is False
    assert encoding.lot_from(doc) == lot
