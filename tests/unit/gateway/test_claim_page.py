"""The public claim page's rules (issue 18 item 8): the QR address from the configured public base URL,
never a loopback one; provisional certificates never look like active ones."""

from __future__ import annotations

import pytest

from services.gateway.api.claim_page import certificate_css, public_url


@pytest.mark.parametrize("base", ["http://127.0.0.1:8080", "http://localhost:8080/", "http://[::1]:8080",
                                  "http://0.0.0.0:8080", "http://127.1.2.3"])
def test_a_loopback_base_url_prints_no_qr_address(base):
    assert public_url(base, "RAS-AAAA") is None


def test_the_qr_address_comes_from_the_configured_public_base_url():
    assert public_url("https://verify.example.org/", "RAS-A B") == "https://verify.example.org/c/RAS-A%20B"


def test_provisional_is_marked_apart_from_active_and_anything_else_is_bad():
    assert (certificate_css("active"), certificate_css("provisional")) == ("ok", "warn")
    assert {certificate_css(s) for s in ("suspended", "withdrawn", "expired")} == {"bad"}
