"""The secretariat's review queue (issue 18 item 1): claims that passed every automatic check and
whose mass is reserved wait here, oldest first, with their evidence and artwork reference. The
secretariat approves or refuses with a comment; the gateway sends `ClaimReviewDecided` on
`claims.requests.v1` with the secretariat's key as actor, and the claims service decides.

API (`/v1/review-queue`, `/v1/claims/{id}/review`) and a page (`/review`) whose form keeps the key
in an HttpOnly, SameSite=Strict cookie scoped to `/review`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field

from contracts.claims import ClaimReviewDecided, ReviewDecision
from contracts.common import Role, Text
from services.gateway.adapters import store
from services.gateway.api.deps import (
    ApiError,
    GatewayDep,
    StrictBody,
    authenticate,
    publish,
    respond,
    role,
)
from services.gateway.api.claims import Claimant, find_claim
from services.gateway.templates import render
from services.gateway.domain.access import Principal

router = APIRouter(tags=["secretariat"])
Secretariat = Annotated[Principal, role(Role.SECRETARIAT)]
COOKIE = "asi_review_key"
AWAITING = "awaiting_review"


class ReviewBody(StrictBody):
    decision: ReviewDecision = Field(description="approve or refuse.")
    comment: Text = Field(description="Your comment, recorded with the decision.")


def waited_seconds(since: Any, now: datetime) -> int:
    if not isinstance(since, datetime):
        return 0
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    return max(0, int((now - since).total_seconds()))


def waited_text(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{seconds} s"


async def queue(gw: GatewayDep, limit: int = 200) -> list[dict[str, Any]]:
    now = gw.runtime.clock.now()
    docs = gw.db[store.CLAIMS].find({"status": AWAITING}).sort([("awaiting_since", 1), ("_id", 1)]).limit(limit)
    out = []
    async for d in docs:
        request = d.get("request") or {}
        seconds = waited_seconds(d.get("awaiting_since"), now)
        out.append({
            "claim_id": d.get("claim_id", d["_id"]), "claimant_organisation_id": d.get("claimant_organisation_id"),
            "claim_type": request.get("claim_type"), "product": request.get("product") or {},
            "wording": request.get("wording"), "artwork_reference": d.get("artwork_reference")
            or request.get("artwork_reference"), "evidence": d.get("evidence") or {},
            "awaiting_since": d.get("awaiting_since"), "waited_seconds": seconds, "waited": waited_text(seconds),
            "pilot": bool(d.get("pilot"))})
    return out


async def decide(gw: GatewayDep, caller: Principal, claim_id: str, organisation_id: str | None,
                 decision: ReviewDecision, comment: str) -> dict[str, Any]:
    doc = await find_claim(gw, caller, claim_id, organisation_id)
    if doc.get("status") != AWAITING:
        raise ApiError(409, "claim_not_awaiting_review", f"claim {claim_id} is {doc.get('status')}, not awaiting review")
    message = ClaimReviewDecided.create(
        actor=caller.actor, occurred_at=gw.runtime.clock.now(), claim_id=claim_id,
        claimant_organisation_id=doc["claimant_organisation_id"], decision=decision, comment=comment,
        reviewer_key_id=caller.key_id)
    return {**await publish(gw, caller, message, claim_id=claim_id), "claim_id": claim_id,
            "claimant_organisation_id": doc["claimant_organisation_id"]}


@router.get("/v1/review-queue", summary="Claims awaiting the secretariat's review, oldest first, with the time waited")
async def review_queue(gw: GatewayDep, caller: Secretariat, limit: Annotated[int, Query(ge=1, le=500)] = 200) -> Any:
    return respond({"claims": await queue(gw, limit)})


@router.post("/v1/claims/{claim_id}/review", status_code=202,
             summary="Approve or refuse a claim awaiting review, with a comment (recorded with your key)")
async def review_claim(gw: GatewayDep, caller: Secretariat, claim_id: str, body: ReviewBody,
                       organisation_id: Claimant = None) -> Any:
    return respond(await decide(gw, caller, claim_id, organisation_id, body.decision, body.comment), 202)


# ---- the page ----

async def _page_caller(gw: GatewayDep, request: Request) -> Principal | None:
    caller = await authenticate(gw, request.cookies.get(COOKIE))
    return caller if isinstance(caller, Principal) and caller.is_secretariat else None


def _html(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(render(template, **context), status_code=status,
                        headers={"cache-control": "no-store"})


@router.get("/review", response_class=HTMLResponse, summary="The secretariat's review queue (page)")
async def review_page(gw: GatewayDep, request: Request, done: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    if await _page_caller(gw, request) is None:
        return _html("review_login.html", problem=None)
    items = await queue(gw)
    names = {d["_id"]: d["name"] async for d in gw.db[store.MEMBERS].find(
        {"_id": {"$in": [i["claimant_organisation_id"] for i in items]}})}
    for item in items:
        item["claimant"] = names.get(item["claimant_organisation_id"], item["claimant_organisation_id"])
    return _html("review_queue.html", items=items, done=done)


async def _form(request: Request) -> dict[str, str]:
    raw = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(raw).items() if v}


@router.post("/review/session", response_class=HTMLResponse, summary="Open the review page with a secretariat key")
async def review_session(gw: GatewayDep, request: Request) -> Response:
    key = (await _form(request)).get("key", "").strip()[:300]
    caller = await authenticate(gw, key)
    if not isinstance(caller, Principal) or not caller.is_secretariat:
        return _html("review_login.html", 401, problem="This is not a valid secretariat key.")
    response = RedirectResponse("/review", status_code=303)
    response.set_cookie(COOKIE, key, httponly=True, samesite="strict", path="/review",
                        secure=gw.settings.public_base_url.startswith("https://"))
    return response


@router.post("/review/{claim_id}", response_class=HTMLResponse, summary="Approve or refuse from the review page")
async def review_form(gw: GatewayDep, request: Request, claim_id: str) -> Response:
    caller = await _page_caller(gw, request)
    if caller is None:
        return _html("review_login.html", 401, problem="Open the queue with a secretariat key first.")
    form = await _form(request)
    try:
        decision = ReviewDecision(form.get("decision", ""))
        body = ReviewBody(decision=decision, comment=form.get("comment", ""))
        await decide(gw, caller, claim_id, form.get("organisation_id"), body.decision, body.comment)
    except (ValueError, ApiError) as exc:
        message = exc.message if isinstance(exc, ApiError) else "choose approve or refuse and write a comment"
        return _html("review_login.html", 400, problem=message)
    verb = "approved" if decision is ReviewDecision.APPROVE else "refused"
    return RedirectResponse(f"/review?done={quote(f'{claim_id} {verb}; the decision is on its way')}", status_code=303)
