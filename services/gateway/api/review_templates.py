"""Templates of the secretariat's review queue page (the public pages' base and badges, reused)."""

from __future__ import annotations

from jinja2 import DictLoader, Environment, select_autoescape

from services.gateway.templates import BASE, STATUS

REVIEW_LOGIN = """{% extends "base.html" %}{% block title %}Claims review{% endblock %}
{% block main %}<div class="card"><h1>Claims review</h1>
{% if problem %}<p class="status bad">{{ problem }}</p>{% endif %}
<form method="post" action="/review/session"><label for="key">Secretariat API key</label>
<input type="text" id="key" name="key" autocomplete="off" maxlength="300">
<button type="submit">Open the queue</button></form>
<p class="muted">The key is kept in a cookie for this page only.</p></div>{% endblock %}"""

REVIEW_QUEUE = """{% extends "base.html" %}{% from "status.html" import badge %}
{% block title %}Claims review queue{% endblock %}
{% block main %}<div class="card"><h1>Claims awaiting review</h1>
<p id="queue-size">{{ items|length }} claim{{ '' if items|length == 1 else 's' }} waiting, oldest first.</p>
{% if done %}<p class="status ok" id="done">{{ done }}</p>{% endif %}</div>
{% for c in items %}<div class="card claim" id="claim-{{ c.claim_id }}"><h2>{{ c.claim_id }}</h2>
<p>{{ badge('awaiting review') }} <span class="waited">waiting {{ c.waited }}</span></p>
{% if c.pilot %}<p class="status warn">pilot, not an ASI claim</p>{% endif %}
<dl><dt>Claimant</dt><dd>{{ c.claimant }}</dd>
<dt>Type</dt><dd>{{ c.claim_type|replace('_', ' ') }}</dd>
<dt>Product</dt><dd>{{ c.product.name }} ({{ c.product.product_id }})</dd>
<dt>Quantity</dt><dd>{% if c.product.units %}{{ c.product.units }} units, {% endif %}{{ c.evidence.claimed_mass_kg }} kg aluminium</dd>
<dt>Wording</dt><dd>&ldquo;{{ c.wording }}&rdquo;</dd>
<dt>Artwork</dt><dd class="artwork">{{ c.artwork_reference }}</dd>
<dt>Certificates</dt><dd>{% for e in c.evidence.certificates %}{{ e.certificate_number }} ({{ e.standard|replace('_', ' ') }}, {{ e.status }}){% if not loop.last %}; {% endif %}{% endfor %}</dd>
<dt>Mass reserved</dt><dd>{{ c.evidence.allocation.mass_kg if c.evidence.allocation else '' }} kg from {{ (c.evidence.allocation.document_ids if c.evidence.allocation else [])|join(', ') }}</dd>
<dt>Wording rules</dt><dd>{{ c.evidence.wording_rules_version }}</dd>
<dt>In the queue since</dt><dd>{{ c.awaiting_since }}</dd></dl>
<form method="post" action="/review/{{ c.claim_id }}"><input type="hidden" name="organisation_id" value="{{ c.claimant_organisation_id }}"><label for="comment-{{ c.claim_id }}">Comment</label>
<textarea id="comment-{{ c.claim_id }}" name="comment" rows="2" maxlength="2000" required></textarea>
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="refuse">Refuse</button></form></div>{% endfor %}
{% endblock %}"""

ENV = Environment(
    loader=DictLoader({"base.html": BASE, "status.html": STATUS, "review_login.html": REVIEW_LOGIN,
                       "review_queue.html": REVIEW_QUEUE}),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


def render(template: str, /, **context: object) -> str:
    return ENV.get_template(template).render(**context)
