"""The public pages' templates (kept in code so they ship with the package)."""

from __future__ import annotations

from jinja2 import DictLoader, Environment, select_autoescape

BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}ASI verification{% endblock %}</title>
<style>
 body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9;line-height:1.45}
 header{background:#0b3d5c;color:#fff;padding:.8rem 1rem} header a{color:#fff;text-decoration:none;font-weight:600}
 main{max-width:46rem;margin:0 auto;padding:1rem} .card{background:#fff;border-radius:.6rem;padding:1rem;margin:0 0 1rem;box-shadow:0 1px 3px #0002}
 input[type=text],textarea{width:100%;box-sizing:border-box;font-size:1rem;padding:.6rem;border:1px solid #aab;border-radius:.4rem}
 button{font-size:1rem;padding:.6rem 1.2rem;border:0;border-radius:.4rem;background:#0b3d5c;color:#fff;margin-top:.5rem}
 .status{display:inline-block;padding:.2rem .6rem;border-radius:1rem;font-weight:700;text-transform:uppercase;font-size:.85rem}
 .ok{background:#d8f5df;color:#0b6b27} .bad{background:#fde0e0;color:#a11} .warn{background:#fff1cc;color:#7a5200}
 dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0} dt{color:#556} dd{margin:0;word-break:break-word}
 table{width:100%;border-collapse:collapse} td,th{text-align:left;padding:.4rem;border-bottom:1px solid #e3e6ea;vertical-align:top}
 .qr svg{width:11rem;height:11rem;max-width:100%} .muted{color:#667;font-size:.9rem}
 td,dd,p,h1,h2{overflow-wrap:anywhere} .status{white-space:nowrap}
 @media (max-width:36rem){
  main{padding:.6rem} .card{padding:.8rem}
  table.rows,table.rows tbody,table.rows tr,table.rows td{display:block;width:auto}
  table.rows tr.head{display:none} table.rows tr{padding:.4rem 0;border-bottom:1px solid #e3e6ea}
  table.rows td{border:0;padding:.15rem 0}
  table.rows td[data-label]::before{content:attr(data-label) ": ";color:#556}
 }
</style></head>
<body><header><a href="/">ASI verification</a> &middot; <a href="/verify">Verify a document</a></header>
<main>{% block main %}{% endblock %}</main></body></html>"""

STATUS = """{% macro badge(status) -%}
<span class="status {{ 'ok' if status in ('active', 'provisional', 'approved', 'valid') else ('warn' if status in ('pending', 'requested', 'unknown') else 'bad') }}" data-status="{{ status }}">{{ status }}</span>
{%- endmacro %}"""

SEARCH = """{% extends "base.html" %}{% from "status.html" import badge %}
{% block title %}Certificate search{% endblock %}
{% block main %}
<div class="card"><h1>Find an ASI certificate</h1>
<form method="get" action="/certificates" role="search">
<label for="q">Certificate number, organisation or site</label>
<input type="text" id="q" name="q" value="{{ q or '' }}" placeholder="ASI-COC-2026-00012" maxlength="120">
<button type="submit">Search</button></form></div>
{% if q %}<div class="card"><h2>{{ results|length }} result{{ '' if results|length == 1 else 's' }} for &ldquo;{{ q }}&rdquo;</h2>
{% if results %}<table class="rows"><tr class="head"><th>Number</th><th>Organisation</th><th>Standard</th><th>Status</th></tr>
{% for c in results %}<tr class="result"><td><a href="/certificates/{{ c.certificate_number }}">{{ c.certificate_number }}</a></td>
<td data-label="Organisation">{{ names.get(c.organisation_id, c.organisation_id) }}</td><td data-label="Standard">{{ c.standard|replace('_', ' ') }}</td><td data-label="Status">{{ badge(c.status) }}</td></tr>{% endfor %}
</table>{% else %}<p>No certificate matches.</p>{% endif %}</div>{% endif %}
{% endblock %}"""

CERTIFICATE = """{% extends "base.html" %}{% from "status.html" import badge %}
{% block title %}{{ c.certificate_number }}{% endblock %}
{% block main %}
<div class="card"><h1>{{ c.certificate_number }}</h1><p>{{ badge(c.status) }}</p>
<dl><dt>Organisation</dt><dd>{{ name }} ({{ c.organisation_id }})</dd>
<dt>Standard</dt><dd>{{ c.standard|replace('_', ' ') }} {{ c.standard_version }}</dd>
<dt>Valid</dt><dd>{{ c.valid_from }} to {{ c.valid_until }}</dd>
<dt>Sites</dt><dd>{{ c.scope.site_ids|join(', ') }}</dd>
<dt>Scope</dt><dd>{{ c.scope.level|replace('_', ' ') }}{% if c.scope.activities %}: {{ c.scope.activities|join(', ') }}{% endif %}</dd>
<dt>Certification body</dt><dd>{{ c.certification_body_id }}</dd>
{% if c.status_reason %}<dt>Why</dt><dd>{{ c.status_reason }}</dd>{% endif %}
<dt>Last updated</dt><dd>{{ c.updated_at }} (revision {{ c.revision }})</dd></dl></div>
{% endblock %}"""

CLAIM = """{% extends "base.html" %}{% from "status.html" import badge %}
{% block title %}ASI claim {{ code }}{% endblock %}
{% block main %}
<div class="card"><h1>ASI claim {{ code }}</h1><p id="claim-status">{{ badge(status) }}</p>
{% if status == 'approved' %}<p>This claim was approved by ASI and may be used until {{ claim.valid_until }}.</p>
{% elif status == 'revoked' %}<p>This approval was <strong>revoked</strong>: the claim may no longer be used.</p>
{% elif status == 'expired' %}<p>This approval <strong>expired</strong>.</p>
{% elif status == 'withdrawn' %}<p>The claimant <strong>withdrew</strong> this claim.</p>{% endif %}
{% for r in claim.reasons %}<p class="muted">{{ r.message }}</p>{% endfor %}
{% if warning %}<p class="status warn">{{ warning }}</p>{% endif %}
<dl><dt>Claimant</dt><dd>{{ claimant }}</dd>
{% if request %}<dt>Product</dt><dd>{{ request.product.name }} ({{ request.product.product_id }})</dd>
<dt>Claim</dt><dd>&ldquo;{{ request.wording }}&rdquo;</dd><dt>Type</dt><dd>{{ request.claim_type|replace('_', ' ') }}</dd>{% endif %}
</dl></div>
<div class="card"><h2>Certificates behind it</h2>
{% if certificates %}<table class="rows"><tr class="head"><th>Number</th><th>Standard</th><th>Status now</th></tr>
{% for c in certificates %}<tr class="certificate"><td><a href="/certificates/{{ c.number }}">{{ c.number }}</a></td><td data-label="Standard">{{ c.standard|replace('_', ' ') }}</td><td data-label="Status now">{{ badge(c.status) }}</td></tr>{% endfor %}
</table>{% else %}<p>None recorded.</p>{% endif %}</div>
<div class="card qr"><h2>Scan to check</h2>{{ qr|safe }}<p class="muted"><a href="{{ url }}">{{ url }}</a></p></div>
{% endblock %}"""

VERIFY = """{% extends "base.html" %}{% from "status.html" import badge %}
{% block title %}Verify a document{% endblock %}
{% block main %}
<div class="card"><h1>Verify an ASI document</h1>
<form method="post" action="/verify"><label for="document">Paste a signed certificate or CoC Document, or a certificate number, document id or claim code</label>
<textarea id="document" name="document" rows="6" maxlength="60000">{{ pasted or '' }}</textarea>
<button type="submit">Verify</button></form></div>
{% if result %}<div class="card" id="result"><h2>{{ result.title }}</h2><p>{{ badge(result.verdict) }}</p>
{% for line in result.lines %}<p>{{ line }}</p>{% endfor %}
{% if result.link %}<p><a href="{{ result.link }}">See its current record</a></p>{% endif %}</div>{% endif %}
{% endblock %}"""

MESSAGE = """{% extends "base.html" %}{% block title %}{{ title }}{% endblock %}
{% block main %}<div class="card"><h1>{{ title }}</h1><p>{{ message }}</p></div>{% endblock %}"""

ENV = Environment(
    loader=DictLoader({"base.html": BASE, "status.html": STATUS, "search.html": SEARCH, "certificate.html": CERTIFICATE,
                       "claim.html": CLAIM, "verify.html": VERIFY, "message.html": MESSAGE}),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


def render(template: str, /, **context: object) -> str:
    return ENV.get_template(template).render(**context)
