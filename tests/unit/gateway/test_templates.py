"""The gateway's HTML templates: files in services/gateway/templates/, shipped with the package,
rendered by one Environment that escapes every value."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from services.gateway import templates

ROOT = Path(__file__).resolve().parents[3]
FILES = sorted(p.name for p in templates.FOLDER.glob("*.html"))


def test_every_template_ships_with_the_package():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    globs = setuptools["package-data"]["services.gateway"]
    assert FILES
    for name in FILES:
        assert any(fnmatch(f"templates/{name}", g) for g in globs), f"{name} is not package data"


@pytest.mark.parametrize("name", FILES)
def test_every_template_parses(name):
    templates.ENV.get_template(name)


def test_values_are_escaped_and_the_layout_wraps_the_page():
    html = templates.render("message.html", title="<b>T</b>", message="a & b <script>")
    assert "<title>&lt;b&gt;T&lt;/b&gt;</title>" in html
    assert "a &amp; b &lt;script&gt;" in html and "<script>" not in html
    assert html.startswith("<!doctype html>") and '<a href="/">ASI verification</a>' in html


def test_the_public_claim_page_replaces_the_brand_for_a_pilot():
    context = {
        "code": "C1",
        "claim": {"reasons": []},
        "status": "approved",
        "request": None,
        "claimant": "H",
        "certificates": [],
        "warning": None,
        "pilot_label": "pilot, not an ASI claim",
        "mass_kg": "1",
        "footprint": None,
        "qr": "",
        "url": None,
        "recycled": None,
    }
    pilot = templates.render("claim_public.html", pilot=True, **context)
    assert '<a href="/">Claim verification</a>' in pilot and "ASI verification" not in pilot
    full = templates.render("claim_public.html", pilot=False, **context)
    assert '<a href="/">ASI verification</a>' in full
