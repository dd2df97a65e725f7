"""Receipts: CoC Material received becomes credits of its product at the account of the site's
certification scope, or non-CoC input with the reason; a received CoC Document becomes a lot that
claims can draw on."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from contracts.common import Classification, DueDiligenceStatus
from contracts.ledger import EntryKind
from contracts.movements import MaterialReceivedRecorded
from services.accounting.domain import conversion, recycled, scope
from services.accounting.domain.closing import bring_to, late_note
from services.accounting.domain.conversion import bucket_key
from services.accounting.domain.outcomes import ALERT_DD_FAILED, AlertDue, EntryPosted, Outcome
from services.accounting.domain.posting import post
from services.accounting.domain.rules import ZERO
from services.accounting.domain.state import BOOKED, DD_FAILED, NOT_COVERED, Account, Lot, add_to

if TYPE_CHECKING:
    from services.accounting.domain.ledger import Ledger


def receive(books: Ledger, m: MaterialReceivedRecorded, now: datetime, out: list[Outcome]) -> None:
    """Anyone may receive CoC Material; it earns credits only at a site a current CoC certificate
    covers on the day, and only when its due diligence did not fail. Otherwise it is recorded as
    non-CoC input with the reason: counted in the period's totals, never credited."""
    placement = books.place(m.organisation_id, m.site_id, m.received_on)
    account = books.open(placement.account_id, m.organisation_id, m.site_id, m.received_on)
    late = bring_to(books, account, m.received_on, now, out)
    rounding = account.rules.rounding
    credit = rounding.credit(m.coc_quantity_kg)
    total = rounding.debit(m.quantity_kg)
    non_coc, why = no_credit(books, m, placement, credit, total)
    if non_coc is not None:
        credit = ZERO
        add_to(account.period.non_coc_inputs, non_coc, total)
    key = bucket_key(m.material_category.value, m.product_form)
    inflow = recycled.receipt_inflow(
        m.material_category,
        m.classification is Classification.ELIGIBLE_SCRAP,
        credit,
        m.recycled_pre_consumer_share,
        m.recycled_post_consumer_share,
        rounding,
    )
    entry, effect = post(
        books,
        account,
        EntryKind.RECEIPT_CREDIT,
        booked_on=m.received_on,
        site_id=m.site_id,
        movement_id=m.movement_id,
        buckets={key: credit},
        coc_input=credit,
        total_input=rounding.debit(m.quantity_kg),
        category=m.material_category.value,
        site_input=ZERO if late else credit,
        inflows={key: inflow} if inflow else None,
        note=_receipt_note(why, late_note(account, m.received_on) if late else None),
    )
    effect.non_coc = non_coc
    out.append(EntryPosted(entry))
    if non_coc == DD_FAILED:
        out.append(
            AlertDue(
                ALERT_DD_FAILED,
                account.account_id,
                m.organisation_id,
                total,
                account.period.period_id,
                why or "",
                site_id=m.site_id,
                movement_id=m.movement_id,
            )
        )
    lot_id = _keep_lot(books, m, account, credit)
    books.record(str(m.movement_id), BOOKED, effects=[effect], lot_id=lot_id)


def _receipt_note(why: str | None, late: str | None) -> str | None:
    """The entry's note: why the receipt earned no credit, and that it was booked late."""
    return "; ".join(n for n in (why, late) if n) or None


def _keep_lot(
    books: Ledger, m: MaterialReceivedRecorded, account: Account, credit: Decimal
) -> str | None:
    """A credited receipt of CoC Material under a CoC Document is kept as a lot (its recycled
    content and footprint travel with it); the lot's id, or None."""
    if not (m.classification is Classification.COC_MATERIAL and m.coc_document_id and credit > 0):
        return None
    lot_id = f"{m.organisation_id}#{m.movement_id}"
    books.touch("lots", lot_id)
    books.lots[lot_id] = Lot(
        lot_id=lot_id,
        owner=m.organisation_id,
        account_id=account.account_id,
        period_id=account.period.period_id,
        document_id=m.coc_document_id,
        received_on=m.received_on,
        mass=credit,
        recycled_content_share=m.recycled_content_share,
        recycled_pre_consumer_share=m.recycled_pre_consumer_share,
        recycled_post_consumer_share=m.recycled_post_consumer_share,
        carbon_footprint=m.carbon_footprint_kg_co2e_per_kg,
        material=conversion.material_of(m.material_category).value,
    )
    return lot_id


def no_credit(
    books: Ledger,
    m: MaterialReceivedRecorded,
    placement: scope.Placement,
    credit: Decimal,
    total: Decimal,
) -> tuple[str | None, str | None]:
    """Why a receipt earns no credit, if it does not (`NOT_COVERED`, `DD_FAILED`), and the note that
    says so. `../shared/domain.md`: "a receipt at a site no current CoC certificate covers earns
    none" (Mass balance); material that fails due diligence "can never become CoC output" but
    "still counts in the period's input totals" (Material)."""
    if m.due_diligence_status is DueDiligenceStatus.FAILED:
        return DD_FAILED, (
            f"due diligence failed ({m.due_diligence_reference or 'no reference'}): {total} kg "
            f"recorded as non-CoC input, never CoC output; the certification body is alerted"
        )
    if credit > 0 and not placement.credits_allowed and books.check_certificates:
        certificate = placement.coverage.certificate
        return NOT_COVERED, (
            f"no current CoC certificate covers site {m.site_id} on {m.received_on}"
            + (
                f" ({certificate.certificate_number} is {certificate.status.value})"
                if certificate
                else ""
            )
            + f": {credit} kg of CoC input recorded as non-CoC input, no credit"
        )
    return None, None
