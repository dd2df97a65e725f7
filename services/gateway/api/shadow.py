"""Shadow accounting for the secretariat (issue 15 item 8): what every rule set of the catalogue would
have allowed, per period, for an account.

The rules live in accounting (`services/accounting/domain/shadow.py`); the gateway only talks Kafka.
So the secretariat's request is published as `RequestShadowReport` on `ledger.commands.v1`, accounting
replays the account's movements under every rule set and answers `ShadowReportPublished` on
`ledger.events.v1`, and the gateway keeps the latest report per account (`shadow_reports`, built in
`handlers.handle_ledger_events`). API (`/v1/shadow-reports`) and a page (`/review/shadow`, opened with
the review queue's secretariat cookie)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import DictLoader, Environment, select_autoescape
from pydantic import Field, ValidationError

from contracts.common import Identifier, Role
from contracts.ledger import RequestShadowReport
from services.gateway.adapters import store
from services.gateway.api.deps import ApiError, GatewayDep, StrictBody, authenticate, publish, respond, role
from services.gateway.api.review import COOKIE
from services.gateway.domain.access import Principal
from services.gateway.templates import BASE, STATUS

router = APIRouter(tags=["secretariat"])
Secretariat = Annotated[Principal, role(Role.SECRETARIAT)]
AccountId = Annotated[str, Query(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$",
                                 description="The account (site:<site id> or group:<organisation>[/<certificate>]).")]


class ShadowRequest(StrictBody):
    account_id: Identifier = Field(description="The account whose movements accounting replays.")
    until: date | None = Field(default=None, description="Close the periods that ended before this day "
                               "(default: the day accounting handles it).")


async def ask(gw: GatewayDep, caller: Principal, account_id: str, until: date | None) -> dict[str, Any]:
    message = RequestShadowReport.create(actor=caller.actor, occurred_at=gw.runtime.clock.now(),
                                         account_id=account_id, until=until)
    return await publish(gw, caller, message, account_id=account_id)


async def latest(gw: GatewayDep, account_id: str) -> dict[str, Any] | None:
    doc = await gw.db[store.SHADOW_REPORTS].find_one({"_id": account_id})
    return None if doc is None else dict(doc["report"])


@router.post("/v1/shadow-reports", status_code=202,
             summary="Ask accounting what every rule set would have allowed for an account, per period")
async def request_report(gw: GatewayDep, caller: Secretariat, body: ShadowRequest) -> Any:
    return respond({**await ask(gw, caller, body.account_id, body.until), "account_id": body.account_id}, 202)


@router.get("/v1/shadow-reports", summary="The latest shadow report of an account (never authoritative)")
async def report(gw: GatewayDep, caller: Secretariat, account_id: AccountId) -> Any:
    found = await latest(gw, account_id)
    if found is None:
        raise ApiError(404, "not_found", "no shadow report of this account yet: ask for one (POST /v1/shadow-reports)")
    return respond(found)


# ---- the page ----

PAGE = """{% extends "base.html" %}{% block title %}Shadow accounting{% endblock %}
{% block main %}<div class="card"><h1>Shadow accounting</h1>
<p>What every rule set of the catalogue would have allowed, per period, on the same movements.
Never authoritative: the ledger is what counts.</p>
<form method="post" action="/review/shadow"><label for="account_id">Account</label>
<input type="text" id="account_id" name="account_id" value="{{ account_id or '' }}" maxlength="120" required>
<label for="until">Close periods ended before (optional)</label>
<input type="date" id="until" name="until">
<button type="submit">Ask accounting</button></form>
{% if asked %}<p class="status ok" id="asked">Asked; accounting answers in a moment: reload this page.</p>{% endif %}
{% if problem %}<p class="status bad">{{ problem }}</p>{% endif %}</div>
{% if report %}<div class="card" id="report"><h2>{{ report.account_id }}</h2>
<p>Organisation {{ report.organisation_id }}; sites {{ report.site_ids|join(', ') }}; {{ report.movements }} movements
in date order; periods ended before {{ report.until }} closed. Assigned rule set: <strong>{{ report.assigned_rule_set_id }}</strong> (*).
Report of {{ report.occurred_at }}.</p>
<table><thead><tr><th>rule set</th><th>account</th><th>period</th><th>CoC in</th><th>total in</th><th>designated</th>
<th>refused</th><th>CoC out</th><th>total out</th><th>balance</th><th>forfeited</th><th>expired</th><th>overshoot</th></tr></thead>
<tbody>{% for r in report.rows %}<tr class="row" data-rule-set="{{ r.rule_set_id }}">
<td data-label="rule set">{{ r.rule_set_id }}{% if r.rule_set_id == report.assigned_rule_set_id %} *{% endif %}</td>
<td data-label="account">{{ r.account_id }}</td><td data-label="period">{{ r.period_id }}{% if not r.closed %}+{% endif %}</td>
<td data-label="CoC in">{{ r.coc_input_kg }}</td><td data-label="total in">{{ r.total_input_kg }}</td>
<td data-label="designated">{{ r.designated_kg }}</td>
<td data-label="refused">{{ r.refused_kg }}{% if r.refusals %} ({{ r.refusal_reasons|join(', ') }}){% endif %}</td>
<td data-label="CoC out">{{ r.coc_output_kg }}</td><td data-label="total out">{{ r.total_output_kg }}</td>
<td data-label="balance">{{ r.closing_balance_kg }}</td><td data-label="forfeited">{{ r.forfeited_kg }}</td>
<td data-label="expired">{{ r.expired_kg }}</td><td data-label="overshoot">{{ r.overshoot_kg }}</td></tr>{% endfor %}</tbody></table>
<p class="muted">* the assigned rule set; period+ = still open. Masses in kg.</p></div>
{% elif account_id %}<div class="card"><p id="none">No shadow report of {{ account_id }} yet.</p></div>{% endif %}
{% endblock %}"""

LOGIN = """{% extends "base.html" %}{% block title %}Shadow accounting{% endblock %}
{% block main %}<div class="card"><h1>Shadow accounting</h1>
<p>Open <a href="/review">the review queue</a> with a secretariat key first.</p></div>{% endblock %}"""

ENV = Environment(loader=DictLoader({"base.html": BASE, "status.html": STATUS, "shadow.html": PAGE, "login.html": LOGIN}),
                  autoescape=select_autoescape(default=True, default_for_string=True))


def _html(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(ENV.get_template(template).render(**context), status_code=status,
                        headers={"cache-control": "no-store"})


async def _page_caller(gw: GatewayDep, request: Request) -> Principal | None:
    caller = await authenticate(gw, request.cookies.get(COOKIE))
    return caller if isinstance(caller, Principal) and caller.is_secretariat else None


@router.get("/review/shadow", response_class=HTMLResponse, summary="Shadow accounting for an account (page)")
async def shadow_page(gw: GatewayDep, request: Request,
                      account_id: Annotated[str | None, Query(max_length=120)] = None,
                      asked: Annotated[str | None, Query(max_length=10)] = None) -> Response:
    if await _page_caller(gw, request) is None:
        return _html("login.html", 401)
    found = await latest(gw, account_id) if account_id else None
    return _html("shadow.html", account_id=account_id, report=found, asked=bool(asked), problem=None)


@router.post("/review/shadow", response_class=HTMLResponse, summary="Ask for a shadow report from the page")
async def shadow_form(gw: GatewayDep, request: Request) -> Response:
    caller = await _page_caller(gw, request)
    if caller is None:
        return _html("login.html", 401)
    raw = (await request.body()).decode("utf-8", errors="replace")
    form = {k: v[0].strip() for k, v in parse_qs(raw).items() if v}
    try:
        body = ShadowRequest(account_id=form.get("account_id", ""), until=form.get("until") or None)
        await ask(gw, caller, body.account_id, body.until)
    except (ValidationError, ApiError) as exc:
        message = exc.message if isinstance(exc, ApiError) else "give an account id (and a valid date, if any)"
        return _html("shadow.html", 400, account_id=form.get("account_id"), report=None, asked=False, problem=message)
    return RedirectResponse(f"/review/shadow?account_id={quote(body.account_id, safe='')}&asked=1", status_code=303)
