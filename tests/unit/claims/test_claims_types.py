"""Claim type statuses (issue 18 item 3): enabled, pilot or off, set by the secretariat; recycled
content and carbon footprint are pilots by default, on-pack logo claims enabled."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.claims import ClaimReason, ClaimType, ClaimTypeStatus
from services.claims.domain import claim_types, saga
from services.claims.domain.rule_sets import wording_rules
from services.claims.domain.saga import Claim, Status
from tests.unit.claims.builders import NOW, allocation, registry, request, review

RULES = wording_rules()


@pytest.mark.parametrize(
    ("claim_type", "status"),
    [
        (ClaimType.ON_PACK_LOGO, ClaimTypeStatus.ENABLED),
        (ClaimType.CERTIFIED_TEXT, ClaimTypeStatus.ENABLED),
        (ClaimType.RECYCLED_CONTENT, ClaimTypeStatus.PILOT),
        (ClaimType.CARBON_FOOTPRINT, ClaimTypeStatus.PILOT),
    ],
)
def test_defaults_follow_what_asi_runs_today(claim_type, status):
    assert claim_types.status_of(claim_type, {}) is status


def test_the_secretariats_setting_wins_over_the_default():
    assert (
        claim_types.status_of(
            ClaimType.RECYCLED_CONTENT, {ClaimType.RECYCLED_CONTENT: ClaimTypeStatus.ENABLED}
        )
        is ClaimTypeStatus.ENABLED
    )


def test_a_claim_type_that_is_off_is_rejected_at_once_with_its_field_and_nothing_allocated():
    claim, effects = Claim.requested(
        request(), "h1", registry(), RULES, NOW, timedelta(seconds=30), ClaimTypeStatus.OFF
    )
    [rejected] = effects
    assert [(r.code, r.field) for r in rejected.reasons] == [
        (ClaimReason.CLAIM_TYPE_OFF, "claim_type")
    ]
    assert claim.status is Status.REJECTED and not claim.allocation_held


@pytest.mark.parametrize(
    ("claim_type", "named"),
    [
        (ClaimType.ON_PACK_LOGO, "on pack logo"),
        (ClaimType.CARBON_FOOTPRINT, "carbon footprint"),
    ],
)
def test_the_refusal_of_a_type_that_is_off_names_the_type_in_words(claim_type, named):
    reason = claim_types.off_reason(claim_type)
    assert (reason.code, reason.field) == (ClaimReason.CLAIM_TYPE_OFF, "claim_type")
    assert reason.message == f"the secretariat does not run {named} claims now"


def test_a_pilot_claim_is_decided_and_recorded_as_a_pilot_through_review_and_approval():
    claim, _ = Claim.requested(
        request(), "h1", registry(), RULES, NOW, timedelta(seconds=30), ClaimTypeStatus.PILOT
    )
    [waiting] = claim.granted(allocation(), registry(), RULES, NOW)
    assert isinstance(waiting, saga.AwaitingReview) and waiting.pilot
    approved, _ = claim.reviewed(review(), registry(), RULES, NOW)
    assert approved.pilot and claim.pilot


def test_recycled_content_is_a_pilot_by_default_and_an_enabled_type_is_not():
    pilot, _ = Claim.requested(
        request(ClaimType.RECYCLED_CONTENT), "h1", registry(), RULES, NOW, timedelta(seconds=30)
    )
    [approved, _] = pilot.granted(allocation(), registry(), RULES, NOW)
    assert approved.pilot
    asi, _ = Claim.requested(
        request(ClaimType.CERTIFIED_TEXT), "h1", registry(), RULES, NOW, timedelta(seconds=30)
    )
    [approved, _] = asi.granted(allocation(), registry(), RULES, NOW)
    assert not approved.pilot
