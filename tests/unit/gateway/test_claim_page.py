"""The public claim page's rules (issue 18 item 8): the QR address from the configured public base URL,
never a loopback one; provisional certificates never look like active ones."""

from __future__ import annotations

import pytest

from services.gateway.api.claim_page import certificate_css, public_url, recycled_line


@pytest.mark.parametrize("base", ["http://127.0.0.1:8080", "http://localhost:8080/", "http://[::1]:8080",
                                  "http://0.0.0.0:8080", "http://127.1.2.3"])
def test_a_loopback_base_url_prints_no_qr_address(base):
    assert public_url(base, "RAS-AAAA") is None


def test_the_qr_address_comes_from_the_configured_public_base_url():
    assert public_url("https://verify.example.org/", "RAS-A B") == "https://verify.example.org/c/RAS-A%20B"


def test_provisional_is_marked_apart_from_active_and_anything_else_is_bad():
    assert (certificate_css("active"), certificate_css("provisional")) == ("ok", "warn")
    assert {certificate_css(s) for s in ("suspended", "withdrawn", "expired")} == {"bad"}


def test_a_recycled_content_claim_shows_the_share_accounting_computed_with_its_split():
    evidence = {"allocation": {"recycled_content_share": "0.450000", "recycled_pre_consumer_share": "0.150000",
                               "recycled_post_consumer_share": "0.300000"}}
    line = recycled_line(evidence)
    assert line is not None and line.startswith("45% (15% pre-consumer, 30% post-consumer), computed from eligible")
    assert recycled_line({"allocation": {"recycled_content_share": None}}) is None
    assert recycled_line({}) is None
