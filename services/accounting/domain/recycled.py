"""Recycled content from the books (issue 18 item 4): the recycled share of what a CoC Document
ships, pre-consumer and post-consumer separately, computed from the eligible scrap the account took
in and carried through its conversion steps. Never a figure the producer typed. Pure: no I/O.

Sources:
- ISO 14021:2016, 7.8 (Recycled content): recycled content is the proportion, **by mass**, of
  recycled material in a product; *pre-consumer* material is diverted from the waste stream during
  a manufacturing process, excluding rework, regrind or scrap generated in a process and capable of
  being reclaimed within the same process that generated it; *post-consumer* material is generated
  by households or by commercial, industrial and institutional facilities in their role as
  end-users of the product, which can no longer be used for its intended purpose. Pre- and
  post-consumer content are stated separately here (7.8.1.1 allows either, the issue asks for both).
- `../shared/domain.md`, Material: Eligible Scrap is pre-consumer (manufacturing scrap, metal
  recovered from dross) or post-consumer (end of life), classified by remelters and refiners only
  (`contracts.common.PRE_CONSUMER_SCRAP`, `POST_CONSUMER_SCRAP`); Mass balance: credits carry
  their material and follow it through each step's conversion factor.

The method (`METHOD`), per account, period and product (credit bucket):
1. **Inflows**: every credit a product receives in the period is composed of pre-consumer,
   post-consumer, other (primary) and unknown mass. A receipt of eligible scrap is all
   pre-consumer or all post-consumer by its category; a receipt of CoC Material brings the split
   its CoC Document states (computed the same way upstream); a document stating no split is
   unknown.
2. **Conversion**: a transformation's new credits take the mass-weighted composition of the
   credits it converts (what it took of each input product, at that product's composition), so
   the share follows the metal through the factor: 1 000 kg of post-consumer scrap remelted at 0.9
   make 900 kg of credits that are 900 kg post-consumer. Process scrap carries no credits
   (`conversion.convert`), so in-house scrap reclaimed in the same process never counts as
   recycled content (ISO 14021's exclusion).
3. **Outflow**: a designation takes the composition of the credits it draws (`Ledger.draw`),
   product by product; the document states pre- and post-consumer shares, each rounded down to
   1e-6, and their sum as the recycled share. Any unknown part: no share at all (a document never
   overstates recycled content).

Non-normative choices (verify), each a named parameter or function below:
- the composition of a product is the ratio of its inflows **in the period** (a mass balance of
  composition per product and period), not a trace of individual credits (`composition`);
- credits carried into a new period keep the composition of the period they leave (`carry`);
- rounding: kilograms of recycled content round down to the gram, of unknown composition up
  (any unknown part stays unknown), shares down to 1e-6 (`SHARE_QUANTUM`), so rounding never
  favours the claim.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from contracts.common import MaterialCategory
from services.accounting.domain.rules import ZERO, Rounding, round_down

METHOD = (
    "ISO 14021 recycled content by mass, pre- and post-consumer: eligible scrap credits "
    "carried through each step's conversion factor, per product and material accounting period"
)
"""How the share is computed, named on every CoC Document that states one."""

SHARE_QUANTUM = Decimal("0.000001")
PRE, POST, UNKNOWN, COC = "pre_consumer_kg", "post_consumer_kg", "unknown_kg", "coc_kg"
FIELDS = (COC, PRE, POST, UNKNOWN)

Flows = dict[str, dict[str, Decimal]]
"""Per product (credit bucket): the period's credit inflows `coc_kg` and how much of them is
pre-consumer, post-consumer and of unknown composition."""


@dataclass(frozen=True)
class Mix:
    """Credits of one or several products: `kg` of them, of which `pre`, `post` and `unknown` kg
    are pre-consumer, post-consumer and of unknown composition (exact, not rounded: parts are
    multiplied out before they are divided, so round figures stay exact)."""

    kg: Decimal
    pre: Decimal
    post: Decimal
    unknown: Decimal

    @property
    def known(self) -> bool:
        return self.kg > 0 and self.unknown.is_zero()

    def part_of(self, kg: Decimal, rounding: Rounding) -> dict[str, Decimal]:
        """`kg` credits of this composition, in kilograms: recycled parts rounded down, the unknown
        part up (any unknown part stays unknown)."""
        if self.kg <= 0:
            return {COC: kg, UNKNOWN: kg}
        return _clean(
            {
                COC: kg,
                PRE: rounding.credit(kg * self.pre / self.kg),
                POST: rounding.credit(kg * self.post / self.kg),
                UNKNOWN: rounding.debit(kg * self.unknown / self.kg),
            }
        )


@dataclass(frozen=True)
class RecycledContent:
    """What a CoC Document states: pre- and post-consumer shares, their sum, method and period."""

    pre_consumer_share: Decimal
    post_consumer_share: Decimal
    period_start: date
    period_end: date
    method: str = METHOD

    @property
    def share(self) -> Decimal:
        return self.pre_consumer_share + self.post_consumer_share


def receipt_inflow(
    category: MaterialCategory,
    eligible_scrap: bool,
    credit: Decimal,
    pre_share: Decimal | None,
    post_share: Decimal | None,
    rounding: Rounding,
) -> dict[str, Decimal]:
    """A receipt's credits by composition: eligible scrap by its category (ISO 14021 pre- or
    post-consumer), CoC Material by the split its CoC Document states, else unknown."""
    if credit <= 0:
        return {}
    if eligible_scrap and category is MaterialCategory.PRE_CONSUMER_SCRAP:
        return {COC: credit, PRE: credit}
    if eligible_scrap and category is MaterialCategory.POST_CONSUMER_SCRAP:
        return {COC: credit, POST: credit}
    if pre_share is None or post_share is None:
        return {COC: credit, UNKNOWN: credit}
    return _clean(
        {
            COC: credit,
            PRE: rounding.credit(credit * pre_share),
            POST: rounding.credit(credit * post_share),
        }
    )


def composition(flows: Flows, product: str) -> Mix:
    """The composition of a product's credits: its inflows in the period (verify: a mass balance of
    composition per product and period). A product with no inflow is of unknown composition."""
    inflow = flows.get(product, {})
    return Mix(
        inflow.get(COC, ZERO),
        inflow.get(PRE, ZERO),
        inflow.get(POST, ZERO),
        inflow.get(UNKNOWN, ZERO),
    )


def blend(flows: Flows, taken: Mapping[str, Decimal]) -> Mix:
    """The composition of credits taken from several products (`taken`: kg per product), each
    product's part at that product's composition."""
    kg = pre = post = unknown = ZERO
    for product, part in taken.items():
        if part <= 0:
            continue
        mix = composition(flows, product)
        kg += part
        if mix.kg <= 0:
            unknown += part
            continue
        pre += part * mix.pre / mix.kg
        post += part * mix.post / mix.kg
        unknown += part * mix.unknown / mix.kg
    return Mix(kg, pre, post, unknown)


def conversion_inflows(
    flows: Flows, taken: Mapping[str, Decimal], made: Mapping[str, Decimal], rounding: Rounding
) -> Flows:
    """A transformation's new credits (`made`, per output product) take the composition of the
    credits it converted (`taken`, per input product): recycled content follows the metal through
    the step's factor."""
    mix = blend(flows, taken)
    return {product: mix.part_of(kg, rounding) for product, kg in made.items() if kg > 0}


def carry(flows: Flows, balances: Mapping[str, Decimal], rounding: Rounding) -> Flows:
    """The opening inflows of a new period: each product's carried credits keep the composition of
    the period they leave (verify)."""
    return {
        product: composition(flows, product).part_of(kg, rounding)
        for product, kg in balances.items()
        if kg > 0
    }


def designated(
    flows: Flows, taken: Mapping[str, Decimal], period_start: date, period_end: date
) -> RecycledContent | None:
    """The recycled content of a designation: the composition of the credits it draws, each share
    rounded down; None when part of it is of unknown composition."""
    mix = blend(flows, taken)
    if not mix.known:
        return None
    return RecycledContent(
        pre_consumer_share=share_of(mix.pre / mix.kg),
        post_consumer_share=share_of(mix.post / mix.kg),
        period_start=period_start,
        period_end=period_end,
    )


def share_of(fraction: Decimal) -> Decimal:
    """A fraction as a stated share: rounded down to `SHARE_QUANTUM`, never above 1."""
    return round_down(min(fraction, Decimal(1)), SHARE_QUANTUM)


def add_flows(flows: Flows, change: Flows, sign: int) -> None:
    """Add (sign 1) or take back (sign -1, a reversal in the same period) inflows."""
    for product, values in change.items():
        totals = flows.setdefault(product, {})
        for name, value in values.items():
            new = totals.get(name, ZERO) + sign * value
            if new.is_zero():
                totals.pop(name, None)
            else:
                totals[name] = new
        if not totals:
            del flows[product]


def _clean(values: dict[str, Decimal]) -> dict[str, Decimal]:
    return {k: v for k, v in values.items() if not v.is_zero()}


def negate(flows: Flows) -> Flows:
    """The inflows a reversal takes back."""
    return {product: {k: -v for k, v in values.items()} for product, values in flows.items()}
