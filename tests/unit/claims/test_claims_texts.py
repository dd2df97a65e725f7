"""The secretariat's approved texts (issue 18 item 2): a request using the latest, enabled version
of a text of its claim type, with the placeholders filled from its own fields, is approved without
review; free wording, an older version, a disabled text or a mismatch goes to review; the blacklist
stays first."""

from __future__ import annotations

from datetime import timedelta

from contracts.claims import ClaimReason, ClaimTextPublished, ClaimType
from contracts.common import Actor, Role
from services.claims.domain import saga, texts
from services.claims.domain.rule_sets import wording_rules
from services.claims.domain.saga import Claim, Status
from services.claims.domain.texts import ApprovedText
from tests.unit.claims.builders import LINK, NOW, allocation, registry, request

RULES = wording_rules()
TEMPLATE = "ASI Responsible Aluminium Sourcing. Learn more at {link}"


def text(**kw) -> ApprovedText:
    values = {
        "text_id": "logo-en",
        "version": 2,
        "claim_type": ClaimType.ON_PACK_LOGO,
        "language": "en",
        "template": TEMPLATE,
        "auto_approve": True,
        **kw,
    }
    return ApprovedText(**values)


def using(**kw):
    values = {"wording": TEMPLATE.format(link=LINK), "text_id": "logo-en", "text_version": 2, **kw}
    return request(**values)


def decided(req, latest: ApprovedText | None) -> list[type]:
    claim, _ = Claim.requested(req, "h1", registry(), RULES, NOW, timedelta(seconds=30))
    return [type(e) for e in claim.granted(allocation(), registry(), RULES, NOW, latest)]


def test_the_latest_enabled_version_with_its_placeholders_filled_is_approved_without_review():
    assert texts.approved_without_review(using(), text())
    assert decided(using(), text()) == [saga.Approved, saga.Debit]


def test_free_wording_always_goes_to_review():
    assert decided(request(), text()) == [saga.AwaitingReview]
    assert decided(using(text_id=None, text_version=None), text()) == [saga.AwaitingReview]


def test_a_disabled_text_an_older_version_another_claim_type_or_other_wording_goes_to_review():
    assert not texts.approved_without_review(using(), text(auto_approve=False))
    assert not texts.approved_without_review(using(text_version=1), text())
    assert not texts.approved_without_review(using(), text(claim_type=ClaimType.CERTIFIED_TEXT))
    assert not texts.approved_without_review(
        using(wording=TEMPLATE.format(link=LINK) + " Best cans."), text()
    )
    assert not texts.approved_without_review(using(link="https://elsewhere.example"), text())
    assert not texts.approved_without_review(using(), None)


def test_a_placeholder_the_request_does_not_fill_is_not_a_match():
    with_number = text(template="Certified by ASI, certificate {certificate_number}. {link}")
    req = using(wording=f"Certified by ASI, certificate None. {LINK}")
    assert texts.filled(with_number, req) is None and not texts.approved_without_review(
        req, with_number
    )


def test_the_blacklist_still_rejects_first_even_with_an_enabled_text():
    bad = text(template="100% certified aluminium. ASI Responsible Aluminium Sourcing {link}")
    req = using(wording=f"100% certified aluminium. ASI Responsible Aluminium Sourcing {LINK}")
    assert texts.approved_without_review(
        req, bad
    )  # the text matches, yet the blacklist decides first
    claim, effects = Claim.requested(req, "h1", registry(), RULES, NOW, timedelta(seconds=30))
    assert claim.status is Status.REJECTED
    assert ClaimReason.MISLEADING_WORDING in [r.code for r in effects[0].reasons]


def test_a_template_with_an_unknown_placeholder_or_broken_braces_is_invalid_with_its_field():
    [reason] = texts.template_reasons(text(template="Made by {brand_name}"))
    assert (reason.code, reason.field) == (ClaimReason.INVALID_CLAIM_TEXT, "template")
    [broken] = texts.template_reasons(text(template="Made by {link"))
    assert (broken.code, broken.field) == (ClaimReason.INVALID_CLAIM_TEXT, "template")
    assert texts.template_reasons(text()) == []


def test_an_approved_text_is_built_from_its_publication():
    message = ClaimTextPublished.create(
        actor=Actor(organisation_id="asi-secretariat", role=Role.SECRETARIAT),
        occurred_at=NOW,
        claim_id="text:logo-en",
        text_id="logo-en",
        version=2,
        claim_type=ClaimType.ON_PACK_LOGO,
        language="en",
        template=TEMPLATE,
        auto_approve=True,
    )
    assert ApprovedText.of(message) == text()
