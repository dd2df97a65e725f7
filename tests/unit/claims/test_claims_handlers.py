"""The pure parts of the handlers: what counts as the same request, and a reused event id."""

from __future__ import annotations

from datetime import timedelta

from contracts.claims import ClaimReason, ClaimRequestRefused
from libs.messaging import Incoming, Record
from services.claims.domain.rule_sets import wording_rules
from services.claims.handlers import ClaimsService, request_hash
from tests.unit.claims.builders import NOW, request


def test_the_same_request_under_a_new_event_id_is_the_same_request():
    first = request()
    again = request()
    assert first.event_id != again.event_id
    assert request_hash(first) == request_hash(again)
    assert request_hash(first) != request_hash(request(units=2))
    assert request_hash(first) != request_hash(request(wording="ASI Responsible Aluminium Sourcing!"))


def test_a_reused_event_id_with_other_content_is_refused_as_a_conflict():
    service = ClaimsService(wording_rules(), timedelta(seconds=30))
    message = request()
    [out] = service.on_conflict(Incoming(message, Record("claims.requests.v1", 0, 1, None, None)), NOW)
    refusal = out.message
    assert isinstance(refusal, ClaimRequestRefused)
    assert refusal.refused_event_id == message.event_id and refusal.claim_id == message.claim_id
    assert refusal.reasons[0].code == ClaimReason.REQUEST_CONFLICT
