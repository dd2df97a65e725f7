"""The main story (registration to a second claim for the same tonnes), what it produced, and how
`make run` (a production day every few seconds after it) and `make demo` (once) play it."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from decimal import Decimal

from contracts import certificates, claims, intake, ledger, plant
from contracts.common import Envelope, MaterialCategory
from devstack.embedded import Endpoints
from devstack.scenario.cast import SECRETARIAT
from devstack.scenario.platform import Platform, Say
from devstack.scenario.story import Story, _now


@dataclass
class Outcome:
    """What the main story produced, for the terminal and for the journey tests."""

    approved: Envelope
    refused_mass: Envelope
    refused_wording: Envelope
    refused_designation: Envelope
    late_receipt: Envelope
    revocations: list[Envelope]
    """Decisions revoking the approved claim (none: a supplier's suspension leaves it standing)."""
    same_tonnes_again: Envelope

    @property
    def as_expected(self) -> bool:
        again = self.same_tonnes_again
        return (isinstance(self.approved, claims.ClaimApproved) and isinstance(self.refused_mass, claims.ClaimRejected)
                and isinstance(self.refused_wording, claims.ClaimRejected)
                and not self.revocations
                and isinstance(self.refused_designation, ledger.DesignationRefused)
                and isinstance(self.late_receipt, intake.PlantEventRejected)
                and isinstance(again, claims.ClaimRejected)
                and any(r.code == claims.ClaimReason.MASS_ALREADY_CLAIMED and self.approved.claim_id in r.message
                        for r in again.reasons))


async def main_story(p: Platform, s: Story, groups: tuple[str, ...] = ("intake", "accounting", "claims")) -> Outcome:
    """Registration, certification, a day of production, three claims, a supplier's suspension and
    reinstatement, and a second claim for the same tonnes."""
    say = p.say
    await s.register()
    await s.certify()
    await p.caught_up("certificates.events.v1", groups)
    say("scenario", "plants start streaming: mine -> refinery -> smelter / remelter -> rolling mill -> can maker -> brand")
    await s.production_day()
    p.show_balances()
    logo = "ASI Responsible Aluminium Sourcing. Learn more at aluminium-stewardship.org"
    say("scenario", "the brand owner asks for three on-pack logo claims on its 330 ml can (13 g of aluminium)")
    good, too_much, misleading = (f"claim-{p.run}-{name}" for name in ("logo", "too-much", "wording"))
    await s.claim(good, 1_000_000, logo)
    approved = await s.decision(good)
    await s.claim(too_much, 10_000_000, logo)
    refused_mass = await s.decision(too_much)
    await s.claim(misleading, 1_000, "100% certified aluminium, fully traceable from mine to can. " + logo)
    refused_wording = await s.decision(misleading)
    cans, brand = s.cast["cans"], s.cast["brand"]
    say("scenario", f"{cans.name} ships another 20 t of CoC cans; the delivery is still on the road")
    shipped = await s.plant(
        cans, plant.MaterialShipped, shipped_on=s.today, customer_organisation_id=brand.org,
        customer_site_id=brand.site, material_category=MaterialCategory.ALUMINIUM, product_form="can-body",
        quantity=Decimal("20"), unit="t", coc_quantity=Decimal("20"), shipment_reference=f"DN-{p.run}-road")
    document = await p.wait_for(ledger.CoCDocumentIssued,
                                lambda m: m.document.movement_id == shipped.entry.movement_id)
    say("scenario", f"the secretariat suspends the CoC certificate of {cans.name}, the brand's can supplier")
    await p.send(certificates.SuspendCertificate.create(
        actor=SECRETARIAT, occurred_at=_now(), certificate_id=s.certificates[(cans.org, "chain_of_custody")],
        reason="Surveillance audit not held: unpaid certification fees"))
    await p.wait_for(ledger.AccountFrozen, lambda m: ledger.account_organisation_id(m.account_id) == cans.org
                     or m.account_id == f"site:{cans.site}")
    refused_designation = await s.plant(
        cans, plant.MaterialShipped, shipped_on=s.today, customer_organisation_id=brand.org,
        customer_site_id=brand.site, material_category=MaterialCategory.ALUMINIUM, product_form="can-body",
        quantity=Decimal("50"), unit="t", coc_quantity=Decimal("30"), shipment_reference=f"DN-{p.run}-after")
    await p.caught_up("certificates.events.v1", groups)
    late_receipt = await s.plant(
        brand, plant.MaterialReceived, received_on=s.today, supplier_organisation_id=cans.org,
        supplier_site_id=cans.site, material_category=MaterialCategory.ALUMINIUM, product_form="can-body",
        quantity=Decimal("20"), unit="t", coc_document_id=document.document.document_id)
    revocations = [m for m in p.records if isinstance(m, claims.ClaimRevoked) and m.claim_id == good]
    say("scenario", f"the brand's approved claim {'was REVOKED' if revocations else 'stands'}: it rests on the brand's "
                    f"own certificates and on can bodies received before the suspension")
    say("scenario", f"the secretariat reinstates the CoC certificate of {cans.name}")
    await p.send(certificates.ReinstateCertificate.create(
        actor=SECRETARIAT, occurred_at=_now(), certificate_id=s.certificates[(cans.org, "chain_of_custody")],
        reason="Fees paid, surveillance audit held"))
    await p.wait_for(ledger.AccountThawed, lambda m: ledger.account_organisation_id(m.account_id) == cans.org
                     or m.account_id == f"site:{cans.site}")
    say("scenario", "the brand asks again for the same tonnes: a claim for every CoC can body it received (60 t)")
    again = f"claim-{p.run}-again"
    await s.claim(again, 4_615_000, logo)
    same_tonnes_again = await s.decision(again)
    p.show_balances()
    outcome = Outcome(approved, refused_mass, refused_wording, refused_designation, late_receipt, revocations,
                      same_tonnes_again)
    say("scenario", f"scenario {'complete' if outcome.as_expected else 'FAILED'}: one claim approved and its mass "
                    "spent, two refused with reasons; the suspension froze the supplier's account, refused its "
                    "designation and made intake refuse its document, and left the approved claim standing; the same "
                    "tonnes claimed again were refused, naming the first claim")
    return outcome


async def story(endpoints: Endpoints, *, once: bool, stop: threading.Event, say: Say) -> bool:
    async with Platform(endpoints, say) as p:
        s = Story(p)
        outcome = await main_story(p, s)
        day = 1
        while not once and not stop.is_set():
            await asyncio.sleep(5)
            day += 1
            say("scenario", f"production day {day}")
            await s.production_day()
            p.show_balances()
        return outcome.as_expected


def run_scenario(endpoints: Endpoints, *, once: bool, stop: threading.Event, say: Say) -> bool:
    try:
        return asyncio.run(story(endpoints, once=once, stop=stop, say=say))
    except TimeoutError as exc:
        say("scenario", f"scenario stopped: {exc}")
        return False
