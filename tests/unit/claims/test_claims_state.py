"""The state one batch works on (`domain/state.py`): the claims it read, the allocation command each
was read with, and the decisions it publishes, kept in the form the store writes."""

from __future__ import annotations

import json
from datetime import timedelta

from services.claims.domain.rule_sets import wording_rules
from services.claims.domain.saga import Claim
from services.claims.domain.state import Loaded
from tests.unit.claims.builders import NOW, registry, request

RULES = wording_rules()


def claim(claim_id: str = "claim-1") -> Claim:
    requested, _ = Claim.requested(
        request(claim_id=claim_id), "h1", registry(), RULES, NOW, timedelta(seconds=30)
    )
    return requested


def test_a_claim_is_found_by_the_allocation_command_it_was_read_with_and_no_other():
    loaded = Loaded()
    with_command, without = claim("claim-1"), claim("claim-2")
    loaded.add_read(with_command, "command-1")
    loaded.add_read(without, None)
    assert loaded.claim_of_command("command-1") is with_command
    assert loaded.claim_of_command("command-2") is None
    assert loaded.claim_of_command("") is None


def test_a_claim_requested_in_the_batch_has_no_allocation_command_to_be_found_by():
    loaded = Loaded()
    new = claim()
    loaded.add_new(new)
    assert loaded.new == {new.key} and loaded.claims == {new.key: new}
    assert loaded.claim_of_command("command-1") is None


def test_the_decisions_recorded_for_a_claim_are_appended_in_their_json_form():
    loaded = Loaded()
    read = claim()
    loaded.add_read(read, "command-1")
    first, second = request(claim_id="claim-1"), request(claim_id="claim-1", wording="other")
    loaded.record(read.key, [first])
    loaded.record(read.key, [second])
    assert loaded.changed == {read.key}
    # What the store writes: JSON values (dates and decimals as strings), not Python objects.
    assert json.loads(json.dumps(loaded.history[read.key])) == loaded.history[read.key]
    assert loaded.history[read.key] == [
        json.loads(first.model_dump_json()),
        json.loads(second.model_dump_json()),
    ]
