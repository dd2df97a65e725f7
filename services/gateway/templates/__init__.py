"""The gateway's HTML pages: Jinja2 templates in this folder, one Environment, autoescaped.

`base.html` (layout and style) and `status.html` (the status badge macro) are shared by the public
pages (`search`, `certificate`, `claim`, `claim_public`, `verify`, `message`), the secretariat's review
queue (`review_login`, `review_queue`), shadow accounting (`shadow`, `shadow_login`) and the product
passport (`passport`). The files ship
with the package (pyproject.toml, `[tool.setuptools.package-data]`)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

FOLDER = Path(__file__).resolve().parent

ENV = Environment(
    loader=FileSystemLoader(FOLDER),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


def render(template: str, /, **context: object) -> str:
    """The named template of this folder, rendered with the context (every value escaped)."""
    return ENV.get_template(template).render(**context)
