"""The gateway's pure rules: access, keys, rate limit, webhook signatures and backoff, JWS, request bodies."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from contracts.claims import ClaimRequested
from contracts.common import Actor, Role
from services.gateway.domain import access, jws, keys, webhooks
from services.gateway.domain.access import AccessDenied, Principal
from services.gateway.domain.qr import svg
from services.gateway.domain.ratelimit import RateLimiter
from services.gateway.inputs import PLANT_INPUT, ClaimRequestedInput

A = Principal("org-a", Role.PRODUCER, "k1")
ADMIN = Principal("asi", Role.SECRETARIAT, "bootstrap")
OWNERS = {"site-a": "org-a", "site-b": "org-b"}


def test_a_producer_acts_only_for_its_own_sites_and_accounts():
    access.require_own_site(A, "site-a", OWNERS)
    for site in ("site-b", "unknown"):
        with pytest.raises(AccessDenied) as refused:
            access.require_own_site(A, site, OWNERS)
        assert refused.value.code == "site_not_yours"
    access.require_own_site(ADMIN, "site-b", OWNERS)
    assert access.may_read_account(A, "site:site-a", OWNERS) and access.may_read_account(A, "group:org-a", OWNERS)
    assert not access.may_read_account(A, "site:site-b", OWNERS)
    assert not access.may_read_account(A, "group:org-b", OWNERS)
    assert access.may_read_account(A, "group:org-a/cert-1", OWNERS)  # a pool per CoC certification scope
    assert not access.may_read_account(A, "group:org-b/cert-1", OWNERS)
    assert not access.may_read_account(A, "owner:org-a", OWNERS)
    assert access.may_read_document(A, "org-b", "org-a") and not access.may_read_document(A, "org-b", "org-c")


def test_the_organisation_of_a_message_is_always_the_callers():
    assert access.acting_as(A, None, "x") == "org-a" == access.acting_as(A, "org-a", "x")
    with pytest.raises(AccessDenied):
        access.acting_as(A, "org-b", "x")
    with pytest.raises(AccessDenied):
        access.require_role(A, Role.BRAND_OWNER)


def test_keys_are_random_stored_as_hashes_and_checked_in_constant_time():
    one, two = keys.new_key(), keys.new_key()
    assert one.token != two.token and one.secret_hash not in one.token
    key_id, secret = keys.parse_token(one.token)
    assert key_id == one.key_id and keys.secret_matches(secret, one.secret_hash)
    assert not keys.secret_matches(secret + "x", one.secret_hash)
    assert keys.parse_token("asi_nothex_abc") is None
    assert keys.bootstrap_matches("x" * 40, "x" * 40) and not keys.bootstrap_matches("short", "short")
    assert not keys.bootstrap_matches("x" * 40, None)


def test_the_rate_limit_allows_a_burst_then_refills():
    limiter = RateLimiter(per_minute=60, burst=3)
    assert [limiter.take("k", 0.0) for _ in range(3)] == [0, 0, 0]
    assert limiter.take("k", 0.0) == pytest.approx(1.0)
    assert limiter.take("other", 0.0) == 0
    assert limiter.take("k", 1.01) == 0


def test_webhooks_are_signed_as_the_standard_webhooks_specification_says():
    # The vector the Standard Webhooks reference libraries test with (secret, id, timestamp, body -> signature).
    secret, message_id, timestamp = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330
    body = b'{"test": 2432232314}'
    assert webhooks.signature(secret, message_id, timestamp, body) == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    sent = webhooks.headers(secret, message_id, timestamp, body)
    assert sent["webhook-id"] == message_id and sent["webhook-timestamp"] == str(timestamp)
    assert webhooks.verify(secret, sent, body, now=timestamp + 10)
    assert not webhooks.verify(secret, sent, body + b" ", now=timestamp)
    assert not webhooks.verify(secret, sent, body, now=timestamp + webhooks.TOLERANCE_S + 1)
    assert not webhooks.verify(webhooks.new_secret(), sent, body, now=timestamp)
    assert not webhooks.verify(secret, {**sent, "webhook-id": "msg_other"}, body, now=timestamp)
    assert webhooks.verify(secret, {**sent, "webhook-signature": "v1,bm90IGl0 " + sent["webhook-signature"]}, body,
                           now=timestamp)
    fresh = webhooks.new_secret()
    assert fresh.startswith("whsec_") and len(base64.b64decode(fresh.removeprefix("whsec_"))) == 32


def test_backoff_and_filters():
    assert [webhooks.backoff_s(n, 2, 60) for n in (1, 2, 3, 6, 20)] == [2, 4, 8, 60, 60]
    event = {"change": "suspended", "certificate": {"organisation_id": "org-a"}}
    assert webhooks.matches(event, [], []) and webhooks.matches(event, ["org-a"], ["suspended"])
    assert not webhooks.matches(event, ["org-b"], []) and not webhooks.matches(event, [], ["issued"])


LOCAL_FORMS = ("127.0.0.1", "2130706433", "0x7f000001", "127.1", "0", "0177.0.0.1", "0xa9fea9fe", "10.0.0.1",
               "[::1]", "[::ffff:127.0.0.1]", "[fe80::1]", "100.64.0.1", "169.254.169.254", "localhost", "x.internal")


@pytest.mark.parametrize("host", LOCAL_FORMS)
def test_a_webhook_url_naming_a_local_address_in_any_form_is_refused(host):
    assert webhooks.url_problem(f"https://{host}:9443/hook", False) == webhooks.NOT_ALLOWED
    assert webhooks.url_problem(f"http://{host}:9443/hook", True) is None  # the development setting


def test_webhook_urls_must_be_https_to_a_public_host():
    assert webhooks.url_problem("https://hooks.example.org/asi", False) is None
    assert webhooks.url_problem("https://8.8.8.8/asi", False) is None
    for bad in ("http://hooks.example.org", "ftp://x", "https://user:pw@hooks.example.org/", "https://h:99999/"):
        assert webhooks.url_problem(bad, False), bad


@pytest.mark.parametrize("address", ["127.0.0.1", "0.0.0.0", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                                     "100.64.0.1", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1%eth0", "fc00::1",
                                     "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2002:7f00:1::", "64:ff9b::7f00:1", "junk"])
def test_resolved_addresses_inside_any_network_are_not_allowed(address):
    assert not webhooks.address_allowed(address)


def test_resolved_public_addresses_are_allowed():
    assert webhooks.address_allowed("93.184.215.14") and webhooks.address_allowed("2606:4700::1111")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_jws_is_checked_against_the_known_keys():
    key = Ed25519PrivateKey.generate()
    jwk = {"kty": "OKP", "crv": "Ed25519", "kid": "k1",
           "x": _b64(key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))}
    header, payload = _b64(b'{"alg":"EdDSA","kid":"k1"}'), _b64(json.dumps({"certificate_id": "c1"}).encode())
    token = f"{header}.{payload}.{_b64(key.sign(f'{header}.{payload}'.encode()))}"
    assert jws.looks_like_jws(token) and not jws.looks_like_jws("ASI-COC-2026-0001")
    good = jws.check(token, [jwk])
    assert good.signature_valid is True and good.payload == {"certificate_id": "c1"}
    forged_payload = _b64(json.dumps({"certificate_id": "c2"}).encode())
    assert jws.check(f"{header}.{forged_payload}.{token.split('.')[2]}", [jwk]).signature_valid is False
    assert jws.check(token, []).signature_valid is None
    assert jws.check("a.b.c", [jwk]).signature_valid is False


def test_request_bodies_have_no_envelope_and_the_actor_comes_from_the_key():
    body = {"type": "material_received", "site_id": "s", "received_on": "2026-05-01", "supplier_organisation_id": "o",
            "material_category": "aluminium", "product_form": "ingot", "quantity": "10", "unit": "kg"}
    with pytest.raises(ValidationError):
        PLANT_INPUT.validate_python({**body, "actor": {"organisation_id": "x", "role": "producer"}})
    with pytest.raises(ValidationError):
        PLANT_INPUT.validate_python({**body, "quantity": 10.5})
    event = PLANT_INPUT.validate_python(body)
    message = event.build(event.CONTRACT, Actor(organisation_id="org-a", role=Role.PRODUCER), datetime.now(UTC))
    assert message.actor.organisation_id == "org-a" and message.site_id == "s"
    claim = ClaimRequestedInput.model_validate({
        "claim_id": "c1", "product": {"product_id": "p", "name": "n", "aluminium_mass_per_unit_kg": "0.013"},
        "claim_type": "certified_text", "wording": "w", "artwork_reference": "a", "markets": ["DE"],
        "period_start": "2026-01-01", "period_end": "2026-02-01"})
    built = claim.build(ClaimRequested, A.actor, datetime.now(UTC), claimant_organisation_id="org-a")
    assert built.claimant_organisation_id == "org-a"


def test_the_qr_code_is_an_svg():
    image = svg("https://verify.example/c/ABC123")
    assert image.startswith("<svg") and "<path" in image


def test_the_qr_code_draws_its_data_at_a_millimetre_per_module_inside_a_two_module_quiet_zone():
    # 29 modules (version 3 for this address) plus 2 on each side; the first dark module at (2, 2).
    image = svg("https://verify.example/c/ABC123")
    assert image.startswith('<svg width="33mm" height="33mm" version="1.1" viewBox="0 0 33 33"')
    assert '<path d="M2,2H3V3H2z' in image
    assert svg("https://verify.example/c/ABC124") != image


def test_the_rate_limit_refills_at_its_rate_and_says_how_long_to_wait():
    limiter = RateLimiter(per_minute=120, burst=2)  # two a second
    assert [limiter.take("k", 100.0) for _ in range(2)] == [0, 0]
    assert limiter.take("k", 100.0) == pytest.approx(0.5)
    assert limiter.take("k", 100.25) == pytest.approx(0.25)  # half a token back
    assert limiter.take("k", 100.5) == 0


def test_the_rate_limit_forgets_every_caller_only_once_it_holds_as_many_as_allowed():
    limiter = RateLimiter(per_minute=60, burst=1, max_callers=2)
    assert limiter.take("a", 0.0) == 0 and limiter.take("b", 0.0) == 0
    assert limiter.take("a", 0.0) > 0  # two callers: "a" is still known, its bucket empty
    assert limiter.take("c", 0.0) == 0  # a third: the table was full, so it starts again
    assert limiter.take("a", 0.0) == 0


@pytest.mark.parametrize(("url", "problem"), [
    ("ftp://hooks.example.org/asi", "the URL must be http(s)://host/..."),
    ("https:///asi", "the URL must be http(s)://host/..."),
    ("https://user@hooks.example.org/asi", "the URL must not carry credentials"),
    ("https://:secret@hooks.example.org/asi", "the URL must not carry credentials"),
    ("https://hooks.example.org:0/asi", "the URL's port is not valid"),
    ("https://hooks.example.org:99999/asi", "the URL is not valid"),
    ("http://hooks.example.org/asi", "the URL must use https"),
    ("https://box.localhost/asi", webhooks.NOT_ALLOWED),
    ("https://printer.local/asi", webhooks.NOT_ALLOWED),
    ("https://db.internal/asi", webhooks.NOT_ALLOWED),
])
def test_each_refused_webhook_url_says_why(url, problem):
    assert webhooks.url_problem(url, False) == problem


def test_a_webhook_url_on_port_one_or_a_local_looking_name_elsewhere_is_allowed():
    assert webhooks.url_problem("https://hooks.example.org:1/asi", False) is None
    assert webhooks.url_problem("https://local.example.org/asi", False) is None
    assert webhooks.url_problem("http://hooks.example.org:1/asi", True) is None


@pytest.mark.parametrize("address", ["169.254.1.1", "10.0.0.1", "fe80::1%eth0", "fe80::1%25eth0%1"])
def test_link_local_and_private_addresses_with_or_without_a_zone_are_not_allowed(address):
    assert not webhooks.address_allowed(address)


def test_a_global_address_with_a_zone_is_judged_by_the_address():
    assert webhooks.address_allowed("2606:4700::1111%eth0")
    assert webhooks.literal_address("2606:4700::1111%eth0") == "2606:4700::1111"


def test_the_bootstrap_key_counts_only_from_32_characters():
    assert keys.bootstrap_matches("x" * 32, "x" * 32)
    assert not keys.bootstrap_matches("x" * 31, "x" * 31)
