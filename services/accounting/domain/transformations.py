"""Transformations: credits follow the metal through a process step with its conversion factor;
where CoC Material originates (mining), a certified site's output becomes credits."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from contracts.ledger import EntryKind
from contracts.movements import MaterialTransformedRecorded
from services.accounting.domain import certification, conversion, periods, recycled, reservations
from services.accounting.domain.closing import bring_to, late_note
from services.accounting.domain.conversion import bucket_key
from services.accounting.domain.outcomes import EntryPosted, Outcome
from services.accounting.domain.posting import post
from services.accounting.domain.rules import ZERO
from services.accounting.domain.state import BOOKED, Account, add_step, clean

if TYPE_CHECKING:
    from services.accounting.domain.ledger import Ledger


def transform(
    books: Ledger, m: MaterialTransformedRecorded, now: datetime, out: list[Outcome]
) -> None:
    """Credits follow the metal, once (`conversion.convert`): the input products' credits times the
    step's factor become credits of the product outputs; process scrap gets none. The new credits
    keep the vintage of the oldest credits converted (a conversion never makes credits younger)."""
    account = books.account_at(m.organisation_id, m.site_id, m.transformed_on)
    late = bring_to(books, account, m.transformed_on, now, out)
    rules = account.rules
    if m.process_step in rules.origin_steps:
        originate(books, account, m, late, out)
        return
    spare = reservations.spare(
        account.buckets,
        account.reserved,
        (bucket_key(line.material_category, line.product_form) for line in m.inputs),
    )
    step = conversion.convert(
        m.inputs, m.outputs, m.conversion_factor, spare, account.free, rules.rounding
    )
    vintage = periods.oldest(account.layers, step.taken)
    inflows = recycled.conversion_inflows(
        account.period.recycled, step.taken, step.made, rules.rounding
    )
    applied = account.period.conversion_applied
    name = m.process_step.value
    applied[name] = min(applied.get(name, m.conversion_factor), m.conversion_factor)
    masses = {
        "input_kg": step.input_kg,
        "coc_input_kg": step.coc_input_kg,
        "output_kg": step.product_kg,
        "scrap_kg": step.scrap_kg,
        "credits_created_kg": step.created,
    }
    step_key = f"{name}|{m.conversion_factor.normalize():f}"
    add_step(account.period, step_key, masses, 1)
    entry, effect = post(
        books,
        account,
        EntryKind.TRANSFORMATION,
        booked_on=m.transformed_on,
        site_id=m.site_id,
        movement_id=m.movement_id,
        buckets=step.change(),
        inflows=inflows,
        vintage=vintage,
        note=f"{name} x {m.conversion_factor}: {step.input_kg} kg in ({clean(step.coc_input_kg)} "
        f"kg of it "
        f"CoC credits), {step.product_kg} kg of product and {step.scrap_kg} kg of process scrap "
        f"out; "
        f"{clean(step.coc_input_kg)} x {m.conversion_factor} = {clean(step.created)} kg of product "
        f"credits "
        f"(scrap carries none)" + (f"; {late_note(account, m.transformed_on)}" if late else ""),
    )
    effect.step_key, effect.step = step_key, masses
    out.append(EntryPosted(entry))
    books.record(str(m.movement_id), BOOKED, effects=[effect])


def originate(
    books: Ledger, account: Account, m: MaterialTransformedRecorded, late: bool, out: list[Outcome]
) -> None:
    """Where CoC Material originates (mining): at a site a current CoC certificate covers, the
    output is CoC input and becomes credits; elsewhere it is recorded as non-CoC input."""
    rounding = account.rules.rounding
    covered = (
        books.coverage(m.organisation_id, m.site_id, m.transformed_on).coverage
        is certification.Coverage.CURRENT
    )
    buckets = (
        {
            bucket_key(line.material_category.value, line.product_form): rounding.credit(
                line.quantity_kg
            )
            for line in m.outputs
        }
        if covered
        else {}
    )
    credit = sum(buckets.values(), ZERO)
    total = rounding.debit(sum((line.quantity_kg for line in m.outputs), Decimal(0)))
    entry, effect = post(
        books,
        account,
        EntryKind.TRANSFORMATION,
        booked_on=m.transformed_on,
        site_id=m.site_id,
        movement_id=m.movement_id,
        buckets=buckets,
        coc_input=credit,
        total_input=total,
        category=m.outputs[0].material_category.value,
        site_input=ZERO if late else credit,
        note=(
            f"{m.process_step.value}: {clean(credit)} kg of CoC Material originated at a certified "
            f"site"
            if covered
            else f"{m.process_step.value} at a site no current CoC certificate covers: non-CoC "
            f"input"
        )
        + (f"; {late_note(account, m.transformed_on)}" if late else ""),
    )
    out.append(EntryPosted(entry))
    books.record(str(m.movement_id), BOOKED, effects=[effect])
