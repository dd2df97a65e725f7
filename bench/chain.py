"""The bench's supply chain: who is who (published on certificates.events.v1 as the certificates
service would), the mix of plant events, and a brand owner with CoC credits asking for claims.

Sites cycle through four kinds, one organisation each (default rule set: group percentage):
smelters (two in four) receive non-CoC alumina; mines (one in four) run the mining step under a
current CoC certificate; remelters (one in four) receive post-consumer scrap that passed due
diligence (eligible scrap: credits) and, every fourth event of the site, ship ingots with a CoC
designation (a debit and a signed CoC Document). Every event of the mix makes a ledger entry.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from contracts import certificates, claims, plant
from contracts.common import (
    Activity,
    Actor,
    Classification,
    Envelope,
    MaterialCategory,
    ProcessStep,
    Role,
    Standard,
)
from contracts.movements import MaterialReceivedRecorded, Verification
from contracts.registry import (
    Certificate,
    CertificateScope,
    CertificateStatus,
    ConversionFactor,
    Member,
    MembershipClass,
    ScopeLevel,
    Site,
)

CERTIFICATES_ACTOR = Actor(organisation_id="certificates", role=Role.SERVICE)
INTAKE_ACTOR = Actor(organisation_id="intake", role=Role.SERVICE)
SECRETARIAT_ACTOR = Actor(organisation_id="asi-secretariat", role=Role.SECRETARIAT)
LOGO_TEMPLATE = "ASI Responsible Aluminium Sourcing. Learn more at {link}"
LOGO_LINK = "https://aluminium-stewardship.org/asi-certification"
KINDS = ("smelter", "smelter", "mine", "remelter")
ACTIVITIES = {
    "smelter": ([Activity.SMELTING, Activity.CASTING], {ProcessStep.ALUMINA_TO_ALUMINIUM: "0.518"}),
    "mine": ([Activity.MINING], {ProcessStep.MINING: "1"}),
    "remelter": ([Activity.REMELTING, Activity.CASTING], {ProcessStep.REMELTING: "0.97"}),
    "brand": ([Activity.BRAND_OWNER], {}),
}
DESIGNATION_EVERY = 4
"""A remelter ships with a designation every fourth event of its site (after three scrap receipts)."""


def now() -> datetime:
    return datetime.now(UTC)


class Chain:
    def __init__(self, run: str, sites: int = 40) -> None:
        self.run = run
        self.sites = sites
        self.today = now().date()
        self.day = self.today - timedelta(days=1)
        self.brand_org = f"bench-{run}-brand"
        self.brand_site = f"bench-{run}-brand-site"
        self._certificates = 0

    # ---- who is who -------------------------------------------------------------------------

    def kind(self, i: int) -> str:
        return KINDS[i % len(KINDS)]

    def org(self, i: int) -> str:
        return f"bench-{self.run}-{self.kind(i)}-{i:03d}"

    def site(self, i: int) -> str:
        return f"bench-{self.run}-{self.kind(i)}-{i:03d}-site"

    def _registered(
        self, org: str, site: str, kind: str, membership: MembershipClass
    ) -> list[Envelope]:
        activities, factors = ACTIVITIES[kind]
        return [
            certificates.MemberRegistered.create(
                actor=CERTIFICATES_ACTOR,
                occurred_at=now(),
                member=Member(
                    organisation_id=org,
                    name=f"Bench {kind} {org}",
                    membership_class=membership,
                    joined_on=date(2024, 1, 1),
                ),
            ),
            certificates.SiteRegistered.create(
                actor=CERTIFICATES_ACTOR,
                occurred_at=now(),
                site=Site(
                    site_id=site,
                    organisation_id=org,
                    name=f"Bench {kind} site",
                    country="NO",
                    activities=activities,
                    conversion_factors=[
                        ConversionFactor(process_step=step, factor=Decimal(factor))
                        for step, factor in factors.items()
                    ],
                ),
            ),
        ]

    def certificate(
        self, org: str, site: str, kind: str, standard: Standard
    ) -> certificates.CertificateChanged:
        self._certificates += 1
        short = "COC" if standard is Standard.CHAIN_OF_CUSTODY else "PS"
        return certificates.CertificateChanged.create(
            actor=CERTIFICATES_ACTOR,
            occurred_at=now(),
            change=certificates.CertificateChange.ISSUED,
            certificate=Certificate(
                certificate_id=f"cert-{org}-{short.lower()}",
                certificate_number=f"ASI-{short}-2026-{self._certificates}",
                organisation_id=org,
                standard=standard,
                standard_version="V2-2022" if standard is Standard.CHAIN_OF_CUSTODY else "V3-2022",
                status=CertificateStatus.ACTIVE,
                provisional=False,
                scope=CertificateScope(
                    level=ScopeLevel.ENTITY, site_ids=[site], activities=ACTIVITIES[kind][0]
                ),
                certification_body_id="cb-bench",
                audit_id=f"audit-{org}-{short.lower()}",
                issued_on=self.today - timedelta(days=30),
                valid_from=self.today - timedelta(days=30),
                valid_until=self.today + timedelta(days=700),
                revision=1,
                updated_at=now(),
            ),
        )

    def registry(self) -> list[Envelope]:
        """Members and sites, CoC certificates for the mines and remelters, and PS certificates for the
        remelters (designating needs both)."""
        out: list[Envelope] = []
        for i in range(self.sites):
            kind = self.kind(i)
            out += self._registered(
                self.org(i), self.site(i), kind, MembershipClass.PRODUCTION_AND_TRANSFORMATION
            )
            if kind in ("mine", "remelter"):
                out.append(
                    self.certificate(self.org(i), self.site(i), kind, Standard.CHAIN_OF_CUSTODY)
                )
            if kind == "remelter":
                out.append(
                    self.certificate(self.org(i), self.site(i), kind, Standard.PERFORMANCE_STANDARD)
                )
        return out

    # ---- plant events -----------------------------------------------------------------------

    def plant_event(
        self, n: int, batch: str
    ) -> plant.MaterialReceived | plant.MaterialTransformed | plant.MaterialShipped:
        """Event n of a stream: site n % sites, the site's own k-th event (k = n // sites)."""
        i, k = n % self.sites, n // self.sites
        kind = self.kind(i)
        common = {
            "actor": Actor(organisation_id=self.org(i), role=Role.PRODUCER),
            "occurred_at": now(),
            "site_id": self.site(i),
        }
        if kind == "smelter":
            return plant.MaterialReceived.create(
                received_on=self.day,
                supplier_organisation_id="external-refinery",
                material_category="alumina",
                product_form="powder",
                quantity=Decimal(25000) + n % 100,
                unit="kg",
                due_diligence_reference=f"dd-{batch}-{n}",
                due_diligence_status="passed",
                **common,
            )
        if kind == "mine":
            tonnes = Decimal(4500) + n % 7
            return plant.MaterialTransformed.create(
                transformed_on=self.day,
                process_step=ProcessStep.MINING,
                inputs=[
                    plant.PlantLine(
                        material_category=MaterialCategory.BAUXITE,
                        product_form="ore",
                        quantity=tonnes,
                        unit="t",
                    )
                ],
                outputs=[
                    plant.PlantLine(
                        material_category=MaterialCategory.BAUXITE,
                        product_form="crushed",
                        quantity=tonnes,
                        unit="t",
                    )
                ],
                **common,
            )
        if k % DESIGNATION_EVERY == DESIGNATION_EVERY - 2:
            # scrap credits become ingot credits only through the reported remelt (credits carry their material)
            return plant.MaterialTransformed.create(
                transformed_on=self.day,
                process_step=ProcessStep.REMELTING,
                inputs=[
                    plant.PlantLine(
                        material_category=MaterialCategory.POST_CONSUMER_SCRAP,
                        product_form="ubc-bales",
                        quantity=Decimal(45),
                        unit="t",
                    )
                ],
                outputs=[
                    plant.PlantLine(
                        material_category=MaterialCategory.ALUMINIUM,
                        product_form="ingot",
                        quantity=Decimal("43.65"),
                        unit="t",
                    )
                ],
                **common,
            )
        if k % DESIGNATION_EVERY == DESIGNATION_EVERY - 1:
            return plant.MaterialShipped.create(
                shipped_on=self.day,
                customer_organisation_id=f"bench-{self.run}-customer",
                material_category=MaterialCategory.ALUMINIUM,
                product_form="ingot",
                quantity=Decimal(25),
                unit="t",
                coc_quantity=Decimal(20),
                shipment_reference=f"DN-{batch}-{n}",
                carbon_footprint_kg_co2e_per_kg=Decimal("0.6"),
                **common,
            )
        return plant.MaterialReceived.create(
            received_on=self.day,
            supplier_organisation_id="uk-ubc-collectors",
            material_category=MaterialCategory.POST_CONSUMER_SCRAP,
            product_form="ubc-bales",
            quantity=Decimal("22.5") + n % 5,
            unit="t",
            due_diligence_reference=f"dd-scrap-{batch}-{n}",
            due_diligence_status="passed",
            **common,
        )

    def mix(self, count: int) -> dict[str, int]:
        kinds: dict[str, int] = {}
        for n in range(count):
            i, k = n % self.sites, n // self.sites
            kind = self.kind(i)
            if kind == "remelter":
                kind = (
                    "remelter designation"
                    if k % DESIGNATION_EVERY == DESIGNATION_EVERY - 1
                    else "remelter remelt"
                    if k % DESIGNATION_EVERY == DESIGNATION_EVERY - 2
                    else "remelter scrap receipt"
                )
            kinds[kind] = kinds.get(kind, 0) + 1
        return kinds

    # ---- the brand owner and its claims -------------------------------------------------------

    def brand_registry(self) -> list[Envelope]:
        org, site = self.brand_org, self.brand_site
        return [
            *self._registered(org, site, "brand", MembershipClass.INDUSTRIAL_USERS),
            self.certificate(org, site, "brand", Standard.PERFORMANCE_STANDARD),
            self.certificate(org, site, "brand", Standard.CHAIN_OF_CUSTODY),
            self.claim_text(),
        ]

    def claim_text(self) -> claims.ClaimTextPublished:
        """The secretariat's approved logo text, enabled for approval without review: the machine's
        part of a claim decision is what the bench times (free wording waits for a person)."""
        return claims.ClaimTextPublished.create(
            actor=SECRETARIAT_ACTOR,
            occurred_at=now(),
            claim_id=f"text:{self.text_id}",
            text_id=self.text_id,
            version=1,
            claim_type=claims.ClaimType.ON_PACK_LOGO,
            language="en",
            template=LOGO_TEMPLATE,
            auto_approve=True,
        )

    @property
    def text_id(self) -> str:
        return f"bench-{self.run}-logo-en"

    def brand_credits(self, lots: int, tonnes: int) -> list[MaterialReceivedRecorded]:
        """CoC can bodies received by the brand owner, as intake would publish them after matching
        the can maker's CoC Documents."""
        return [
            MaterialReceivedRecorded.create(
                actor=INTAKE_ACTOR,
                occurred_at=now(),
                movement_id=uuid.uuid4(),
                site_id=self.brand_site,
                organisation_id=self.brand_org,
                received_on=self.day,
                supplier_organisation_id=f"bench-{self.run}-cans",
                material_category=MaterialCategory.ALUMINIUM,
                product_form="can-body",
                quantity_kg=Decimal(tonnes * 1000),
                classification=Classification.COC_MATERIAL,
                coc_quantity_kg=Decimal(tonnes * 1000),
                coc_document_id=f"coc-bench-{self.run}-{n}",
                verification=Verification.VERIFIED,
                recycled_content_share=Decimal("0.3"),
                carbon_footprint_kg_co2e_per_kg=Decimal("4.1"),
            )
            for n in range(lots)
        ]

    def claim(self, n: int) -> claims.ClaimRequested:
        return claims.ClaimRequested.create(
            actor=Actor(organisation_id=self.brand_org, role=Role.BRAND_OWNER),
            occurred_at=now(),
            claim_id=f"claim-{self.run}-{n:05d}",
            claimant_organisation_id=self.brand_org,
            product=claims.ClaimProduct(
                product_id=f"0501234567{n:04d}",
                name="Fizz Cola 330 ml can",
                aluminium_mass_per_unit_kg=Decimal("0.013"),
                units=100_000,
                producing_site_ids=[self.brand_site],
            ),
            claim_type="on_pack_logo",
            wording=LOGO_TEMPLATE.format(link=LOGO_LINK),
            text_id=self.text_id,
            text_version=1,
            artwork_reference=f"artwork-{self.run}-{n}",
            link=LOGO_LINK,
            markets=["GB", "DE"],
            period_start=self.today,
            period_end=self.today + timedelta(days=180),
        )
