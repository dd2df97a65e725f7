"""Shadow accounting for the secretariat through the gateway (issue 15 item 8): the gateway publishes the
request, accounting replays the account under every rule set and answers on ledger.events.v1, the gateway
shows the latest report (API and page). Real broker, real database, the real accounting service."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from contracts.common import Role
from contracts.ledger import LedgerEntryPosted, RequestShadowReport
from devstack.gateway_testing import eventually, gateway_client
from services.accounting.app import build_runtime
from services.accounting.config import Settings as AccountingSettings
from services.accounting.domain.rules import CATALOGUE
from tests.integration.test_accounting_ledger import certify, scope_account
from tests.integration.test_gateway_api import ADMIN, auth, gateway_settings, new_key
from tests.support import running, service_settings, unique
from tests.unit.accounting.factories import receipt, ship

pytestmark = pytest.mark.integration


async def test_the_secretariat_asks_for_and_reads_every_rule_sets_periods_of_an_account(stack, recorder, sender):
    org, site = unique("org"), unique("site")
    account = scope_account(org)
    async with running(build_runtime, service_settings(AccountingSettings, stack)) as accounting:
        await certify(sender, accounting, org, site)
        await sender.send(receipt("10000", "2000", org=org, site=site))
        await recorder.wait_for(LedgerEntryPosted, lambda m: m.entry.account_id == account)
        await sender.send(ship("5000", "1000", org=org, site=site))
        async with gateway_client(gateway_settings(stack)) as (_, client):
            producer = await new_key(client, org, Role.PRODUCER)
            denied = await client.post("/v1/shadow-reports", json={"account_id": account}, headers=auth(producer))
            assert denied.status_code == 403 and denied.json()["error"]["code"] == "role_not_allowed"
            missing = await client.get("/v1/shadow-reports", params={"account_id": account}, headers=auth(ADMIN))
            assert missing.status_code == 404
            asked = await client.post("/v1/shadow-reports", json={"account_id": account, "until": "2027-01-01"},
                                      headers=auth(ADMIN))
            assert asked.status_code == 202, asked.text
            [request] = await recorder.wait_for(RequestShadowReport, lambda m: m.account_id == account)
            assert request.actor.role is Role.SECRETARIAT

            async def report() -> Any:
                found = await client.get("/v1/shadow-reports", params={"account_id": account}, headers=auth(ADMIN))
                return found.json() if found.status_code == 200 else None

            shown = await eventually(report, timeout=60, what="accounting's shadow report in the gateway")
            assert (shown["account_id"], shown["organisation_id"], shown["site_ids"]) == (account, org, [site])
            assert shown["movements"] == 2 and shown["until"] == "2027-01-01"
            assert {r["rule_set_id"] for r in shown["rows"]} == set(CATALOGUE)
            for rule_set_id in CATALOGUE:  # the same receipt under every rule set
                rows = [r for r in shown["rows"] if r["rule_set_id"] == rule_set_id]
                assert sum(Decimal(r["coc_input_kg"]) for r in rows) == Decimal(2000), rule_set_id
            assert (await client.get("/v1/shadow-reports", params={"account_id": account},
                                     headers=auth(producer))).status_code == 403

            # the page: the review queue's secretariat cookie opens it
            assert (await client.get("/review/shadow", params={"account_id": account})).status_code == 401
            opened = await client.post("/review/session", data={"key": ADMIN}, follow_redirects=False)
            assert opened.status_code == 303
            page = await client.get("/review/shadow", params={"account_id": account})
            assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
            assert f"{shown['assigned_rule_set_id']} *" in page.text
            assert page.text.count('class="row"') == len(shown["rows"])
            again = await client.post("/review/shadow", data={"account_id": account}, follow_redirects=False)
            assert again.status_code == 303 and "asked=1" in again.headers["location"]
            await recorder.wait_for(RequestShadowReport, lambda m: m.account_id == account, count=2)
            unknown = unique("site:none")
            await client.post("/review/shadow", data={"account_id": unknown})
            none = await client.get("/review/shadow", params={"account_id": unknown})
            assert 'id="none"' in none.text
