"""Accounting publishes its CoC Document signing key on ledger.events.v1 once, at start, so verifiers
learn it from the topic; a restart publishes nothing new, a new key retires the old one."""

from __future__ import annotations

import pytest

from contracts.signing import DocumentSigningKeyPublished, Signer, b64url
from services.accounting.app import build_runtime
from services.accounting.config import Settings
from tests.support import NOW, running, service_settings

pytestmark = pytest.mark.integration


async def test_accounting_publishes_its_key_once_and_retires_it_when_replaced(stack, recorder):
    first, second = Signer.generate(), Signer.generate()
    settings = service_settings(Settings, stack, clock_start=NOW, tick_interval_s=0.2, signing_key=b64url(first.seed))
    mine = lambda m: m.kid in {first.kid, second.kid}  # noqa: E731
    async with running(build_runtime, settings):
        [published] = await recorder.wait_for(DocumentSigningKeyPublished, mine)
    assert (published.kid, published.jwk, published.valid_until, published.issuer) == (
        first.kid, first.jwk, None, "accounting")
    async with running(build_runtime, settings):
        await recorder.settle(quiet_s=0.6)
    assert len(recorder.messages(kind=DocumentSigningKeyPublished, where=mine)) == 1
    async with running(build_runtime, settings.model_copy(update={"signing_key": b64url(second.seed)})):
        await recorder.wait_for(DocumentSigningKeyPublished, mine, count=3)
    # the two keys are keyed (so partitioned) by kid: their order across partitions is not defined
    published_again = recorder.messages(kind=DocumentSigningKeyPublished, where=mine)[1:]
    [retired] = [m for m in published_again if m.kid == first.kid]
    [current] = [m for m in published_again if m.kid == second.kid]
    assert current.valid_until is None and retired.valid_until is not None
