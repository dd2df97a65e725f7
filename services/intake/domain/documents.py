"""The two-party match: a CoC receipt against a CoC Document issued on the platform."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from contracts.common import Standard
from contracts.intake import IntakeReason as R
from contracts.ledger import CoCDocument
from contracts.plant import MaterialReceived
from contracts.registry import Certificate, CertificateStatus
from services.intake.domain.checks import Check
from services.intake.domain.keys import certificates_key, document_key, member_key
from services.intake.domain.model import DocumentState, EventRecord, World

_CLOSED_LATER = frozenset({CertificateStatus.SUSPENDED, CertificateStatus.WITHDRAWN})


def covered_on(certificate: Certificate, site_id: str, day: date) -> bool:
    """Did this CoC certificate cover the site on that day? A suspension or withdrawal only counts
    from the day it happened (`updated_at`); expiry and supersession leave the validity window
    intact."""
    if (
        certificate.standard is not Standard.CHAIN_OF_CUSTODY
        or site_id not in certificate.scope.site_ids
    ):
        return False
    if not certificate.valid_from <= day <= certificate.valid_until:
        return False
    if certificate.status in _CLOSED_LATER:
        return day < certificate.updated_at.date()
    return True


def matching_document(
    event: MaterialReceived, document_id: str, world: World, check: Check
) -> DocumentState | None:
    """The document the receipt cites, if it is known; waits for it (and for the supplier's
    membership) otherwise. Refuses a document issued to someone else, for another material, by
    another supplier, or by a supplier whose CoC certificate did not cover the shipping site on the
    issue date."""
    state = world.documents.get(document_id)
    if state is None:
        check.wait(
            document_key(document_id),
            R.UNKNOWN_DOCUMENT,
            f"CoC Document {document_id} is not known (yet)",
            "coc_document_id",
        )
        if event.supplier_organisation_id not in world.members:
            check.wait(
                member_key(event.supplier_organisation_id),
                R.SUPPLIER_NOT_ON_PLATFORM,
                f"supplier {event.supplier_organisation_id} is not on the platform: "
                "only CoC Documents issued on "
                "the platform are accepted",
                "supplier_organisation_id",
            )
        return None
    _for_this_receipt(event, state.document, check)
    _issuer_certified(
        state.document, world.certificates.get(state.document.issuer_organisation_id, []), check
    )
    return state


def _for_this_receipt(event: MaterialReceived, doc: CoCDocument, check: Check) -> None:
    if doc.recipient_organisation_id != event.actor.organisation_id or (
        doc.recipient_site_id is not None and doc.recipient_site_id != event.site_id
    ):
        recipient = doc.recipient_organisation_id + (
            f"/{doc.recipient_site_id}" if doc.recipient_site_id else ""
        )
        check.refuse(
            R.DOCUMENT_NOT_FOR_RECIPIENT,
            f"CoC Document {doc.document_id} was issued to {recipient}, not to "
            f"{event.actor.organisation_id}/{event.site_id}",
            "coc_document_id",
        )
    if doc.material_category != event.material_category:
        check.refuse(
            R.DOCUMENT_MATERIAL_MISMATCH,
            f"CoC Document {doc.document_id} is for {doc.material_category.value}, not "
            f"{event.material_category.value}",
            "material_category",
        )
    if doc.issuer_organisation_id != event.supplier_organisation_id or (
        event.supplier_site_id is not None and event.supplier_site_id != doc.issuer_site_id
    ):
        check.refuse(
            R.DOCUMENT_SUPPLIER_MISMATCH,
            f"CoC Document {doc.document_id} was issued by "
            f"{doc.issuer_organisation_id}/{doc.issuer_site_id}",
            "supplier_organisation_id",
        )


def _issuer_certified(doc: CoCDocument, certificates: list[Certificate], check: Check) -> None:
    if not any(c.standard is Standard.CHAIN_OF_CUSTODY for c in certificates):
        check.wait(
            certificates_key(doc.issuer_organisation_id),
            R.SUPPLIER_NOT_CERTIFIED,
            f"no CoC certificate of {doc.issuer_organisation_id} is known (yet)",
            "coc_document_id",
        )
    elif not any(covered_on(c, doc.issuer_site_id, doc.issued_on) for c in certificates):
        check.refuse(
            R.SUPPLIER_NOT_CERTIFIED,
            f"no CoC certificate of {doc.issuer_organisation_id} "
            f"covered site {doc.issuer_site_id} on "
            f"{doc.issued_on.isoformat()}",
            "coc_document_id",
        )


def remaining_kg(state: DocumentState, document_id: str, replacing: EventRecord | None) -> Decimal:
    """What is left of the document for this receipt: a correction first gives back what the event
    it replaces took of the same document."""
    released = (
        replacing.coc_kg
        if replacing is not None and replacing.document_id == document_id
        else Decimal(0)
    )
    return state.remaining_kg + released


def take(kg: Decimal, state: DocumentState, replacing: EventRecord | None, check: Check) -> Decimal:
    """The receipt's share of the document: min(quantity, remaining). A receipt against a fully
    received document is refused, so receipts never add up to more than the document."""
    doc = state.document
    remaining = remaining_kg(state, doc.document_id, replacing)
    if remaining <= 0:
        check.refuse(
            R.DOCUMENT_OVER_RECEIVED,
            f"CoC Document {doc.document_id} ({doc.coc_mass_kg} kg) is already fully received",
            "coc_document_id",
        )
    return min(kg, remaining)
