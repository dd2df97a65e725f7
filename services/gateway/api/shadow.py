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
from pydantic import Field, ValidationError

from contracts.common import Identifier, Role
from contracts.ledger import RequestShadowReport
from services.gateway.adapters import store
from services.gateway.api.deps import ApiError, GatewayDep, StrictBody, authenticate, publish, respond, role
from services.gateway.api.review import COOKIE
from services.gateway.domain.access import Principal
from services.gateway.templates import render

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


# ---- the page (templates/shadow.html, templates/shadow_login.html) ----

def _html(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(render(template, **context), status_code=status,
                        headers={"cache-control": "no-store"})


async def _page_caller(gw: GatewayDep, request: Request) -> Principal | None:
    caller = await authenticate(gw, request.cookies.get(COOKIE))
    return caller if isinstance(caller, Principal) and caller.is_secretariat else None


@router.get("/review/shadow", response_class=HTMLResponse, summary="Shadow accounting for an account (page)")
async def shadow_page(gw: GatewayDep, request: Request,
                      account_id: Annotated[str | None, Query(max_length=120)] = None,
                      asked: Annotated[str | None, Query(max_length=10)] = None) -> Response:
    if await _page_caller(gw, request) is None:
        return _html("shadow_login.html", 401)
    found = await latest(gw, account_id) if account_id else None
    return _html("shadow.html", account_id=account_id, report=found, asked=bool(asked), problem=None)


@router.post("/review/shadow", response_class=HTMLResponse, summary="Ask for a shadow report from the page")
async def shadow_form(gw: GatewayDep, request: Request) -> Response:
    caller = await _page_caller(gw, request)
    if caller is None:
        return _html("shadow_login.html", 401)
    raw = (await request.body()).decode("utf-8", errors="replace")
    form = {k: v[0].strip() for k, v in parse_qs(raw).items() if v}
    try:
        body = ShadowRequest(account_id=form.get("account_id", ""), until=form.get("until") or None)
        await ask(gw, caller, body.account_id, body.until)
    except (ValidationError, ApiError) as exc:
        message = exc.message if isinstance(exc, ApiError) else "give an account id (and a valid date, if any)"
        return _html("shadow.html", 400, account_id=form.get("account_id"), report=None, asked=False, problem=message)
    return RedirectResponse(f"/review/shadow?account_id={quote(body.account_id, safe='')}&asked=1", status_code=303)
