"""Periods: bringing an account to a day (expiring credits past their lifetime, closing every period
that ended), the period statement, forfeit at close, the percentage overshoot and what the rule set
does with it. The rule values are in `rules.py`; the period arithmetic in `periods.py`."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from contracts.common import MaterialCategory
from contracts.ledger import (
    EntryKind,
    PeriodStatement,
    RecycledContentSummary,
    TransformationSummary,
)
from services.accounting.domain import periods, recycled, reservations
from services.accounting.domain.outcomes import (
    ALERT_OVERSHOOT,
    AlertDue,
    EntryPosted,
    Outcome,
    StatementWritten,
)
from services.accounting.domain.posting import post
from services.accounting.domain.rules import ZERO, Method, Overshoot, period_id
from services.accounting.domain.state import Account, Period, clean

if TYPE_CHECKING:
    from services.accounting.domain.ledger import Ledger


def bring_to(books: Ledger, account: Account, day: date, now: datetime, out: list[Outcome]) -> bool:
    """Close every period that ended before `day` and expire credits whose lifetime ended by then;
    True when `day` lies before the open period."""
    while day > account.period.end:
        expire(books, account, account.period.end, out)
        close(books, account, account.period.end, now, out)
    expire(books, account, max(day, account.period.start), out)
    return day < account.period.start


def expire(books: Ledger, account: Account, day: date, out: list[Outcome]) -> None:
    """Credits past the rule set's lifetime expire, oldest first, with an entry that says why
    (credits reserved for claims are kept for them)."""
    rules = account.rules
    due = periods.expiring(account.layers, rules, day)
    if not due:
        return
    left = account.free
    take: dict[str, Decimal] = {}
    vintages: list[str] = []
    for product, vintage, value in reservations.expirable(due, account.reserved):
        part = min(value, left)
        if part <= 0:
            break
        take[product] = take.get(product, ZERO) + part
        left -= part
        vintages.append(f"{part} kg of {product} from {vintage.strftime('%Y-%m')}")
    if not take:
        return
    expired = sum(take.values(), ZERO)
    entry, _ = post(
        books,
        account,
        EntryKind.CREDIT_EXPIRED,
        booked_on=day,
        buckets={k: -v for k, v in take.items()},
        note=f"{rules.rule_set_id}: credits live {rules.credit_lifetime_months} months, oldest "
        f"used first: {expired} kg expired ({'; '.join(vintages)})",
    )
    account.period.expired = clean(account.period.expired + expired)
    out.append(EntryPosted(entry))


def overshoot(account: Account) -> Decimal:
    """Percentage method: CoC output of the open period (with what an earlier overshoot charges to
    it) beyond what the whole period's inputs allow. Zero under the credit method (no overdraft
    there)."""
    period = account.period
    if account.rules.method is not Method.PERCENTAGE:
        return ZERO
    return periods.overshoot(
        period.coc_input,
        period.total_input,
        period.coc_output + period.deducted,
        period.total_output,
    )


def statement(
    account: Account,
    end: date,
    now: datetime,
    *,
    forfeited: Decimal = ZERO,
    closing: Decimal | None = None,
) -> PeriodStatement:
    """The statement of the open period as it stands (or as it closes at `end`)."""
    period = account.period
    closing = account.balance if closing is None else closing
    rules = account.rules
    excess = overshoot(account)
    return PeriodStatement(
        account_id=account.account_id,
        period_id=period.period_id,
        period_start=period.start,
        period_end=end,
        rule_set_id=rules.rule_set_id,
        rule_set_version=rules.version,
        opening_balance_kg=period.opening_balance,
        inputs_by_category_kg=dict(sorted(period.inputs_by_category.items())),
        coc_input_kg=period.coc_input,
        total_input_kg=period.total_input,
        coc_output_kg=period.coc_output,
        total_output_kg=period.total_output,
        conversion_applied=dict(sorted(period.conversion_applied.items())),
        closing_balance_kg=closing,
        carried_over_kg=clean(closing - forfeited),
        forfeited_kg=forfeited,
        last_entry_hash=account.last_hash,
        closed_at=now,
        non_coc_inputs_kg=dict(sorted(period.non_coc_inputs.items())),
        expired_kg=period.expired,
        overshoot_brought_in_kg=period.deducted,
        percentage_overshoot_kg=excess,
        overshoot_handling=rules.overshoot.value if excess > 0 else None,
        transformations=[
            TransformationSummary(
                process_step=key.partition("|")[0],
                conversion_factor=Decimal(key.partition("|")[2]),
                **values,
            )
            for key, values in sorted(period.transformations.items())
        ],
        recycled_content=recycled_summaries(period),
        recycled_content_method=recycled.METHOD if period.recycled else None,
    )


def recycled_summaries(period: Period) -> list[RecycledContentSummary]:
    """The composition of each product's credits over the period (`recycled.py`)."""
    summaries = []
    for product, values in sorted(period.recycled.items()):
        part = recycled.composition(period.recycled, product)
        known = part.known
        pre = recycled.share_of(part.pre / part.kg) if known else None
        post = recycled.share_of(part.post / part.kg) if known else None
        summaries.append(
            RecycledContentSummary(
                material_category=MaterialCategory(product.partition("|")[0]),
                product_form=product.partition("|")[2],
                coc_kg=values.get(recycled.COC, ZERO),
                pre_consumer_kg=values.get(recycled.PRE, ZERO),
                post_consumer_kg=values.get(recycled.POST, ZERO),
                unknown_kg=values.get(recycled.UNKNOWN, ZERO),
                pre_consumer_share=pre,
                post_consumer_share=post,
            )
        )
    return summaries


def close(books: Ledger, account: Account, end: date, now: datetime, out: list[Outcome]) -> None:
    books.touch("accounts", account.account_id)
    rules = account.rules
    closing = account.balance
    forfeited = _forfeit(books, account, end, out)
    written = statement(account, end, now, forfeited=forfeited, closing=closing)
    books.statements.append(written)
    out.append(StatementWritten(written))
    excess = written.percentage_overshoot_kg or ZERO
    if excess > 0 and rules.overshoot is Overshoot.NON_CONFORMITY:
        out.append(_overshoot_alert(account, written, excess))
    start = end + timedelta(days=1)
    next_rules = books.rule_set_for(account.organisation_id, start)
    if next_rules.level is not account.level:
        next_rules = rules
    account.rule_set_id = next_rules.rule_set_id
    _, next_end = next_rules.period_containing(start)
    carried = excess if excess > 0 and rules.overshoot is Overshoot.DEDUCT_NEXT_PERIOD else ZERO
    account.period = Period(
        period_id(start),
        start,
        next_end,
        opening_balance=account.balance,
        deducted=carried,
        recycled=recycled.carry(account.period.recycled, account.buckets, rules.rounding),
    )
    if account.balance > 0:
        entry, _ = post(
            books,
            account,
            EntryKind.CARRY_OVER,
            booked_on=start,
            note=f"opening balance {account.balance} kg carried over from period "
            f"{written.period_id}",
        )
        out.append(EntryPosted(entry))


def _forfeit(books: Ledger, account: Account, end: date, out: list[Outcome]) -> Decimal:
    """A rule set without carry-over forfeits the free credits at close (credits reserved for
    claims are kept); the mass forfeited."""
    rules = account.rules
    forfeited = ZERO
    if not rules.carry_over and account.free > 0:
        take = books.draw(account, account.free)
        forfeited = clean(sum(take.values(), ZERO))
    if forfeited > 0:
        entry, _ = post(
            books,
            account,
            EntryKind.FORFEIT,
            booked_on=end,
            buckets={k: -v for k, v in take.items()},
            note=f"{rules.rule_set_id} does not carry credits over: {forfeited} kg forfeited at "
            f"close (credits reserved for claims are kept)",
        )
        out.append(EntryPosted(entry))
    return forfeited


def _overshoot_alert(account: Account, written: PeriodStatement, excess: Decimal) -> AlertDue:
    """The non-conformity alert for a period whose CoC share of outputs exceeded that of inputs."""
    rules = account.rules
    return AlertDue(
        ALERT_OVERSHOOT,
        account.account_id,
        account.organisation_id,
        excess,
        written.period_id,
        f"CoC share of outputs exceeded the CoC share of inputs over period "
        f"{written.period_id}: "
        f"{written.coc_output_kg + written.overshoot_brought_in_kg} kg CoC of "
        f"{written.total_output_kg} "
        f"kg out, {written.coc_input_kg} kg CoC of {written.total_input_kg} kg in; "
        f"{excess} kg too much "
        f"({rules.rule_set_id}: recorded as a non-conformity for the certification body)",
    )


def late_note(account: Account, day: date) -> str:
    return (
        f"dated {day.isoformat()}, before the open period {account.period.period_id} "
        f"(closed periods are immutable); booked into the open period"
    )
