"""Recycled content from the books (issue 18 item 4) through the real broker and database, accounting and
claims running together: a remelter's eligible scrap (pre- and post-consumer) goes through remelting and
rolling, accounting computes the split on the CoC Document it issues to a brand, and the brand's
recycled-content claim quotes exactly that share and split; a claim above it is refused with the figures."""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import date
from decimal import Decimal

import pytest

from contracts.certificates import CertificateChange, CertificateChanged
from contracts.claims import ClaimApproved, ClaimReason, ClaimRejected, ClaimType
from contracts.common import Actor, Classification, ProcessStep, Role
from contracts.common import MaterialCategory as Cat
from contracts.ledger import AllocationGranted, CoCDocumentIssued, LedgerEntryPosted
from libs.clock import ManualClock
from services.accounting.app import build_runtime as accounting
from services.accounting.config import Settings as AccountingSettings
from services.accounting.domain import recycled
from services.claims.app import build_runtime as claim_verification
from services.claims.config import Settings as ClaimsSettings
from tests.integration.test_accounting_ledger import projected
from tests.integration.test_claims_saga import certified_brand, of
from tests.support import NOW, running, service_settings, unique
from tests.unit.accounting.factories import certificate, ps_certificate, receipt, ship, transform
from tests.unit.claims.builders import request

pytestmark = pytest.mark.integration

CERTIFICATES = Actor(organisation_id="certificates", role=Role.SERVICE)


def issued(cert) -> CertificateChanged:
    return CertificateChanged.create(actor=CERTIFICATES, occurred_at=NOW, change=CertificateChange.ISSUED,
                                     certificate=cert)


def scrap(kg: str, category: Cat, form: str, org: str, site: str):
    return receipt(kg, kg, category=category, form=form, classification=Classification.ELIGIBLE_SCRAP,
                   document=None, org=org, site=site)


async def test_a_recycled_content_claim_quotes_the_share_accounting_computed(stack, recorder, sender):
    settings = {"accounting": service_settings(AccountingSettings, stack),
                "claims": service_settings(ClaimsSettings, stack)}
    async with AsyncExitStack() as services:
        books = await services.enter_async_context(running(accounting, settings["accounting"]))
        claims = await services.enter_async_context(
            running(claim_verification, settings["claims"], clock=ManualClock(NOW)))
        remelter, mill = unique("remelter"), unique("mill")
        await sender.send(issued(certificate(org=remelter, sites=(mill,), certificate_id=f"cert-{remelter}")))
        await sender.send(issued(ps_certificate(org=remelter, sites=(mill,), certificate_id=f"ps-{remelter}")))
        brand, _, brand_coc = await certified_brand(sender, claims)  # member, PS and CoC, seen by both services
        brand_site = brand_coc.scope.site_ids[0]
        for certificate_id in (f"cert-{remelter}", f"ps-{remelter}", brand_coc.certificate_id):
            await projected(books, remelter, certificate_id=certificate_id)

        # The remelter's books: 1 000 kg post- and 500 kg pre-consumer scrap remelted at 0.9 beside 1 650 kg
        # of primary ingot, then rolled at 0.8 (400 kg of offcuts: process scrap, no credits).
        for movement in (
            scrap("1000", Cat.POST_CONSUMER_SCRAP, "bales", remelter, mill),
            scrap("500", Cat.PRE_CONSUMER_SCRAP, "turnings", remelter, mill),
            receipt("1650", "1650", org=remelter, site=mill, document=unique("doc-primary"), pre="0", post="0"),
            transform([(Cat.POST_CONSUMER_SCRAP, "bales", "1000"), (Cat.PRE_CONSUMER_SCRAP, "turnings", "500")],
                      [(Cat.ALUMINIUM, "ingot", "1350")], "0.9", step=ProcessStep.REMELTING, org=remelter,
                      site=mill),
            transform([(Cat.ALUMINIUM, "ingot", "2000")],
                      [(Cat.ALUMINIUM, "sheet", "1600"), (Cat.PRE_CONSUMER_SCRAP, "offcuts", "400")], "0.8",
                      step=ProcessStep.ROLLING, org=remelter, site=mill),
        ):
            await sender.send(movement)
        await recorder.wait_for(LedgerEntryPosted, lambda m: m.entry.movement_id == movement.movement_id)
        shipment = ship("1000", "1000", org=remelter, site=mill, form="sheet", customer=brand)
        await sender.send(shipment)
        [document] = [m.document for m in await recorder.wait_for(
            CoCDocumentIssued, lambda m: m.document.movement_id == shipment.movement_id)]
        assert (document.recycled_pre_consumer_share, document.recycled_post_consumer_share,
                document.recycled_content_share) == (Decimal("0.15"), Decimal("0.3"), Decimal("0.45"))
        assert document.recycled_content_method == recycled.METHOD
        assert (document.recycled_content_period_start, document.recycled_content_period_end) == (
            date(2026, 1, 1), date(2026, 12, 31))

        # The brand receives it (intake passes the document's figures on, as it does for every matched receipt).
        received = receipt("1000", "1000", org=brand, site=brand_site, form="sheet", document=document.document_id,
                           recycled=str(document.recycled_content_share),
                           pre=str(document.recycled_pre_consumer_share),
                           post=str(document.recycled_post_consumer_share))
        await sender.send(received)
        await recorder.wait_for(LedgerEntryPosted, lambda m: m.entry.movement_id == received.movement_id)

        claim_id = unique("claim")
        await sender.send(request(ClaimType.RECYCLED_CONTENT, claim_id=claim_id, org=brand, units=None,
                                  total_mass_kg="600", recycled_content_share=Decimal("0.45"),
                                  wording="Contains 45% recycled aluminium (mass balance)"))
        [grant] = await recorder.wait_for(AllocationGranted, of(claim_id))
        assert [d.document_id for d in grant.documents] == [document.document_id]
        [approved] = await recorder.wait_for(ClaimApproved, of(claim_id))
        quoted = approved.evidence.allocation
        assert quoted is not None and quoted.document_ids == [document.document_id]
        assert (quoted.recycled_content_share, quoted.recycled_pre_consumer_share,
                quoted.recycled_post_consumer_share) == (document.recycled_content_share,
                                                         document.recycled_pre_consumer_share,
                                                         document.recycled_post_consumer_share)
        assert approved.pilot  # ASI does not run recycled-content claims yet

        above = unique("claim")
        await sender.send(request(ClaimType.RECYCLED_CONTENT, claim_id=above, org=brand, units=None,
                                  total_mass_kg="300", recycled_content_share=Decimal("0.5"),
                                  wording="Contains 50% recycled aluminium (mass balance)"))
        [rejected] = await recorder.wait_for(ClaimRejected, of(above))
        [reason] = rejected.reasons
        assert (reason.code, reason.field) == (ClaimReason.RECYCLED_CONTENT_UNSUPPORTED, "recycled_content_share")
        assert "0.5 is above the 0.45" in reason.message and "pre-consumer" in reason.message
