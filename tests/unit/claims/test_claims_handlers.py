"""The pure parts of the handlers: what counts as the same request, and a reused event id."""

from __future__ import annotations

from contracts.claims import ClaimReason, ClaimRequestRefused
from libs.messaging import Incoming, Record
from services.claims.app import build_handlers
from services.claims.config import Settings
from services.claims.domain.requests import request_hash
from tests.unit.claims.builders import NOW, request


def test_the_same_request_under_a_new_event_id_is_the_same_request():
    first = request()
    again = request()
    assert first.event_id != again.event_id
    assert request_hash(first) == request_hash(again)
    assert request_hash(first) != request_hash(request(units=2))
    assert request_hash(first) != request_hash(
        request(wording="ASI Responsible Aluminium Sourcing!")
    )


def test_a_reused_event_id_with_other_content_is_refused_as_a_conflict():
    service = build_handlers(Settings())
    message = request()
    [out] = service.on_conflict(
        Incoming(message, Record("claims.requests.v1", 0, 1, None, None)), NOW
    )
    refusal = out.message
    assert isinstance(refusal, ClaimRequestRefused)
    assert refusal.refused_event_id == message.event_id and refusal.claim_id == message.claim_id
    assert refusal.reasons[0].code == ClaimReason.REQUEST_CONFLICT


def test_spending_returning_and_usage_become_their_own_messages():
    from datetime import date
    from decimal import Decimal
    from uuid import uuid4

    from contracts.claims import ClaimUsageRecorded, ClaimWithdrawalConfirmed
    from contracts.ledger import DebitClaimMass, ReturnClaimMass
    from services.claims.adapters.messages import translate
    from services.claims.domain import saga

    effects = [
        saga.Debit(Decimal(13000), "RAS-AAAA-BBBB-CCCC"),
        saga.ReturnUnused(Decimal(7800), Decimal(5200), "withdrawn"),
        saga.UsageRecorded(
            date(2026, 7, 1),
            date(2026, 9, 30),
            400_000,
            400_000,
            Decimal(5200),
            Decimal(13000),
            Decimal(7800),
        ),
        saga.WithdrawalConfirmed("withdrawn", Decimal(5200), Decimal(7800)),
    ]
    debit, back, recorded, confirmed = translate(
        "claim-1",
        "brand-1",
        effects,
        cause="cause",
        causation_id=None,
        correlation_id=uuid4(),
        now=NOW,
    )
    assert isinstance(debit, DebitClaimMass) and (debit.owner_organisation_id, debit.mass_kg) == (
        "brand-1",
        13000,
    )
    assert isinstance(back, ReturnClaimMass) and (back.mass_kg, back.used_kg) == (7800, 5200)
    assert isinstance(recorded, ClaimUsageRecorded) and recorded.unused_kg == 7800
    assert isinstance(confirmed, ClaimWithdrawalConfirmed) and confirmed.returned_kg == 7800
