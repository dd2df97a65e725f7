"""Claims' use cases that keep the reference data the checks read, and decide no claim: the
secretariat's claim type statuses and approved texts, producers' PACT footprints, sites' CoC
output, members and their standing. `handlers.ClaimsHandlers` inherits them and `handlers.DISPATCH`
names them; `Batch` is what every use case of one transaction shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts.certificates import (
    CertificationDeadlineExtended,
    MemberCertificationOverdue,
    MemberRegistered,
    MembershipForfeited,
    SiteRegistered,
)
from contracts.claims import (
    ClaimTextPublished,
    ClaimType,
    ClaimTypeStatus,
    ClaimTypeStatusSet,
    FootprintSubmitted,
    footprint_key,
)
from contracts.common import Reason, Role
from contracts.ledger import CoCDocumentIssued
from contracts.registry import Member
from libs.logs import get_logger
from libs.messaging import Outgoing, Tx
from services.claims.domain import footprints, plausibility, requests, texts
from services.claims.domain.checks import Registry
from services.claims.domain.state import Loaded
from services.claims.domain.texts import ApprovedText
from services.claims.ports import ClaimsStore, Messages

log = get_logger("services.claims")


@dataclass
class Batch:
    """What one transaction's use cases share: the store, the state read for the batch, what they
    publish."""

    tx: Tx
    store: ClaimsStore
    loaded: Loaded = field(default_factory=Loaded)
    registry: Registry = field(default_factory=Registry)
    type_statuses: dict[ClaimType, ClaimTypeStatus] = field(default_factory=dict)
    texts: dict[str, ApprovedText] = field(default_factory=dict)
    newer: set[int] = field(default_factory=set)
    """Identities of the certificates in the batch newer than the projection's."""
    members: list[Member] = field(default_factory=list)
    out: list[Outgoing] = field(default_factory=list)


class ReferenceDataHandlers:
    """The use cases that keep reference data; a refusal is sent through the messages port."""

    messages: Messages

    # ---- claims.requests.v1 ----------------------------------------------------------------------

    async def claim_type_status_set(self, message: ClaimTypeStatusSet, work: Batch) -> None:
        """The secretariat enables, pilots or switches off a claim type (`claim_types.py`)."""
        if message.actor.role is Role.SECRETARIAT:
            await work.store.set_claim_type_status(message.claim_type, message.status, work.tx.now)
            work.type_statuses[message.claim_type] = message.status
            return
        reason = requests.secretariat_only_reason("sets the status of a claim type")
        work.out.append(self._refusal(message, reason, work, "type", message.actor.organisation_id))

    async def claim_text_published(self, message: ClaimTextPublished, work: Batch) -> None:
        """Store a version of an approved text (`texts.py`), or refuse it (nothing changes)."""
        text = ApprovedText.of(message)
        if message.actor.role is not Role.SECRETARIAT:
            reason = requests.secretariat_only_reason("publishes approved claim texts")
        elif reasons := texts.template_reasons(text):
            reason = reasons[0]
        elif not await work.store.save_text(text):
            reason = requests.text_version_conflict_reason(text.text_id, text.version)
        else:
            log.info(
                "claim_text_published",
                text_id=text.text_id,
                version=text.version,
                auto_approve=text.auto_approve,
            )
            return
        work.out.append(self._refusal(message, reason, work, "text", message.actor.organisation_id))

    async def footprint_submitted(self, message: FootprintSubmitted, work: Batch) -> None:
        """Keep a producer's PACT footprint (its latest version), or refuse it (nothing changes)."""
        new = footprints.Footprint.of(message)
        key = str(new.footprint_id)
        stored = work.registry.footprints.get(key)
        if message.claim_id != footprint_key(new.footprint_id):
            reason: Reason | None = footprints.wrongly_keyed_reason(
                message.claim_id, new.footprint_id
            )
        elif (
            message.actor.role is not Role.SECRETARIAT
            and message.actor.organisation_id != message.producer_organisation_id
        ):
            reason = requests.not_claimant_reason(
                message.producer_organisation_id, f"submit footprint {key}"
            )
        else:
            reason = footprints.submission_reason(stored, new)
        if reason is not None:
            work.out.append(
                self._refusal(message, reason, work, "footprint", message.actor.organisation_id)
            )
            return
        if stored is not None and stored.version == new.version:
            return  # the same version again: nothing new
        await work.store.save_footprint(new)
        work.registry.footprints[key] = new
        log.info("footprint_submitted", footprint_id=key, version=new.version, owner=new.owner)

    def _refusal(
        self, message: Any, reason: Reason, work: Batch, salt: str, claimant: str
    ) -> Outgoing:
        return self.messages.refusal(
            message, reason, work.tx.now, salt=salt, claim_id=message.claim_id, claimant=claimant
        )

    # ---- ledger.events.v1 ------------------------------------------------------------------------

    async def coc_document_issued(self, message: CoCDocumentIssued, work: Batch) -> None:
        """A site's CoC output grows: an alert for the secretariat when it goes above the site's
        declared yearly capacity (`plausibility.above_capacity`); it decides nothing."""
        document = message.document
        site = await work.store.add_site_output(
            document.issuer_site_id,
            plausibility.capacity_period(document.issued_on),
            document.coc_mass_kg,
        )
        alert = plausibility.above_capacity(site, document.document_id)
        if alert is not None:
            await work.store.mark_site_alerted(site.site_id, site.year)
            work.out.append(self.messages.capacity_alert(alert, message, work.tx.now))

    # ---- certificates.events.v1 ------------------------------------------------------------------

    async def site_registered(self, message: SiteRegistered, work: Batch) -> None:
        """The site's organisation and declared capacity, for the capacity plausibility check."""
        await work.store.save_sites([message.site])

    async def member_registered(self, message: MemberRegistered, work: Batch) -> None:
        member = message.member
        await work.store.clear_forfeited(member.organisation_id, member.joined_on)
        work.members.append(member)

    async def member_certification_overdue(
        self, message: MemberCertificationOverdue, work: Batch
    ) -> None:
        await work.store.mark_at_risk(message.organisation_id, message.occurred_at)

    async def membership_forfeited(self, message: MembershipForfeited, work: Batch) -> None:
        await work.store.mark_forfeited(
            message.organisation_id, message.occurred_at, message.forfeited_on
        )

    async def certification_deadline_extended(
        self, message: CertificationDeadlineExtended, work: Batch
    ) -> None:
        await work.store.clear_at_risk(message.organisation_id)
