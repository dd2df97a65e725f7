"""Designations: a shipment's CoC mass is debited from the account's credits and a CoC Document is
due, unless a rule refuses it (each a named function below, in the order their reasons are given;
reason codes from `contracts.ledger.LedgerReason`). Sources: `../shared/domain.md`, Mass balance (no
overdraft: the debit never exceeds the free credits usable for the shipped product; the percentage
method's share rule; the site-level rule of CoC input in the period) and Material (only an entity
certified against both PS and CoC passes material on as CoC Material: `scope.may_designate`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from contracts.common import Reason
from contracts.ledger import EntryKind, LedgerReason
from contracts.movements import MaterialShippedRecorded
from services.accounting.domain import conversion, periods, recycled, reservations, scope
from services.accounting.domain.closing import bring_to, late_note
from services.accounting.domain.conversion import bucket_key
from services.accounting.domain.documents import coc_document
from services.accounting.domain.outcomes import (
    DesignationDenied,
    DocumentDue,
    EntryPosted,
    Outcome,
    Refusal,
    reason,
)
from services.accounting.domain.posting import post
from services.accounting.domain.rules import ZERO, Method, RuleSet
from services.accounting.domain.state import BOOKED, Account, Period, clean

if TYPE_CHECKING:
    from services.accounting.domain.ledger import Ledger


def ship(books: Ledger, m: MaterialShippedRecorded, now: datetime, out: list[Outcome]) -> None:
    account = books.account_at(m.organisation_id, m.site_id, m.shipped_on)
    late = bring_to(books, account, m.shipped_on, now, out)
    rules = account.rules
    total_out = rules.rounding.credit(m.quantity_kg)
    note = late_note(account, m.shipped_on) if late else None
    if m.coc_quantity_kg.is_zero():
        entry, effect = post(
            books,
            account,
            EntryKind.OUTPUT_RECORDED,
            booked_on=m.shipped_on,
            site_id=m.site_id,
            movement_id=m.movement_id,
            total_output=total_out,
            note=note,
        )
        out.append(EntryPosted(entry))
        books.record(str(m.movement_id), BOOKED, effects=[effect])
        return
    debit = rules.rounding.debit(m.coc_quantity_kg)
    reasons: list[Reason] = []
    certificate = None
    if books.check_certificates:
        certificate, blockers = scope.may_designate(
            books.certificates.of(m.organisation_id),
            m.organisation_id,
            m.site_id,
            m.shipped_on,
            rules,
        )
        reasons.extend(blockers)
    usable, available = usable_credits(account, m, rules)
    reasons += [
        r
        for r in (
            exceeds_shipped_mass(m, debit),
            insufficient_credits(account, m, rules, debit, available, usable),
            no_coc_input_in_period(account.period, m.site_id, rules),
        )
        if r is not None
    ]
    if rules.method is Method.PERCENTAGE:
        allowed = percentage_allowance(account.period, total_out)
        refused = percentage_rule(account.period, debit, allowed)
        if refused is not None:
            reasons.append(refused)
        available = min(available, allowed)
    if reasons:
        raise Refusal(
            DesignationDenied(
                account.account_id,
                m.site_id,
                m.organisation_id,
                m.movement_id,
                m.shipment_reference,
                m.coc_quantity_kg,
                available,
                rules.rule_set_id,
                rules.version,
                reasons,
            )
        )
    take = books.draw(account, debit, usable)
    entry, effect = post(
        books,
        account,
        EntryKind.DESIGNATION_DEBIT,
        booked_on=m.shipped_on,
        site_id=m.site_id,
        movement_id=m.movement_id,
        buckets={k: -v for k, v in take.items()},
        coc_output=debit,
        total_output=total_out,
        note=note,
    )
    out.append(EntryPosted(entry))
    period = account.period
    content = recycled.designated(period.recycled, take, period.start, period.end)
    document = coc_document(m, debit, certificate, rules, content)
    out.append(DocumentDue(account.account_id, document))
    books.record(str(m.movement_id), BOOKED, effects=[effect])


def usable_credits(
    account: Account, m: MaterialShippedRecorded, rules: RuleSet
) -> tuple[list[str], Decimal]:
    """The products whose credits may back this shipment (`conversion.usable_for`) and how many kg
    of them are free, leaving what is reserved for claims."""
    usable = conversion.usable_for(
        account.buckets, m.material_category, m.product_form, rules.credits_by_product
    )
    spare = reservations.spare(account.buckets, account.reserved, usable)
    available = min(account.free, sum((spare.get(k, ZERO) for k in usable), ZERO))
    return list(usable), max(available, ZERO)


def exceeds_shipped_mass(m: MaterialShippedRecorded, debit: Decimal) -> Reason | None:
    """The CoC mass designated is part of what is shipped, never more."""
    if debit > m.quantity_kg:
        return reason(
            LedgerReason.INSUFFICIENT_CREDITS,
            "CoC mass exceeds the shipped mass",
            "coc_quantity_kg",
        )
    return None


def insufficient_credits(
    account: Account,
    m: MaterialShippedRecorded,
    rules: RuleSet,
    debit: Decimal,
    available: Decimal,
    usable: list[str],
) -> Reason | None:
    """No overdraft: the designation needs that many kg of usable, free credits."""
    if debit <= available:
        return None
    key = bucket_key(m.material_category, m.product_form)
    what = (
        f"{key} credits"
        if rules.credits_by_product
        else f"free {conversion.material_of(m.material_category).value} credits"
    )
    others = clean(account.free - available) if account.free > available else ZERO
    return reason(
        LedgerReason.INSUFFICIENT_CREDITS,
        f"designation of {debit} kg exceeds the {available} kg of {what}"
        + (
            f" (credits of other products or materials, {others} kg, become usable only "
            f"through a reported transformation with its factor)"
            if others > 0
            else ""
        )
        + (
            f"; {account.reserved} kg of {reservations.CLAIM_MATERIAL.value} credits are "
            f"reserved for claims"
            if account.reserved > 0 and any(reservations.is_claim_product(k) for k in usable)
            else ""
        ),
    )


def no_coc_input_in_period(period: Period, site_id: str, rules: RuleSet) -> Reason | None:
    """Rule sets with `require_coc_input_in_period`: a site designates only in a period in which it
    received CoC Material."""
    if rules.require_coc_input_in_period and period.site_coc_input.get(site_id, ZERO) <= 0:
        return reason(
            LedgerReason.NO_COC_INPUT_IN_PERIOD,
            f"site {site_id} received no CoC Material in period {period.period_id}",
        )
    return None


def percentage_allowance(period: Period, total_out: Decimal) -> Decimal:
    """Percentage method: the CoC output still allowed with this shipment counted, after what the
    period has designated and what an earlier period's overshoot charges to it."""
    allowed = periods.allowed_coc_output(
        period.coc_input, period.total_input, period.total_output + total_out
    )
    return max(clean(allowed - period.coc_output - period.deducted), ZERO)


def percentage_rule(period: Period, debit: Decimal, allowed: Decimal) -> Reason | None:
    """Percentage method: the CoC share of outputs may not exceed the CoC share of inputs."""
    if debit <= allowed:
        return None
    return reason(
        LedgerReason.PERCENTAGE_RULE,
        f"CoC share of outputs would exceed the CoC share of inputs "
        f"({period.coc_input}/{period.total_input} kg) in period {period.period_id}: "
        f"at most {allowed} kg"
        + (
            f" ({period.deducted} kg charged by an earlier period's overshoot)"
            if period.deducted > 0
            else ""
        ),
    )
