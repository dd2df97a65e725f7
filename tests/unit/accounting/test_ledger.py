"""The mass-balance rules, one behaviour per test, on the pure ledger."""

from datetime import date
from decimal import Decimal

from contracts.common import Classification, ProcessStep
from contracts.common import MaterialCategory as Cat
from contracts.ledger import EntryKind
from contracts.registry import CertificateStatus
from services.accounting.domain import claims_mass
from services.accounting.domain.ledger import (
    AllocationDenied,
    DesignationDenied,
    DocumentDue,
    EntryPosted,
    Granted,
    MovementDenied,
    Released,
    StatementWritten,
)
from tests.unit.accounting.factories import (
    NOW,
    cancel,
    certificate,
    group,
    ledger,
    receipt,
    ship,
    transform,
)

SITE, GROUP = "v3-draft-site-credit", "v3-draft-group-credit"


def kinds(outcomes):
    return [type(o).__name__ for o in outcomes]


def entries(outcomes):
    return [o.entry for o in outcomes if isinstance(o, EntryPosted)]


def denied(outcomes):
    [refusal] = [o for o in outcomes if isinstance(o, DesignationDenied | MovementDenied | AllocationDenied)]
    return [r.code for r in refusal.reasons]


# ---- credits and debits -------------------------------------------------------------------


def test_a_coc_receipt_credits_the_account_of_the_organisations_rule_set():
    books = ledger(GROUP)
    [entry] = entries(books.apply(receipt("1000", "400"), NOW))
    assert (entry.account_id, entry.kind, entry.coc_credit_kg, entry.balance_after_kg) == (
        group(), EntryKind.RECEIPT_CREDIT, Decimal(400), Decimal(400))
    assert (entry.rule_set_id, entry.rule_set_version) == (GROUP, "draft-2025-10")
    assert entry.total_input_kg == Decimal(1000)


def test_eligible_scrap_credits_and_counts_as_fully_recycled():
    books = ledger(GROUP)
    books.apply(receipt("500", "500", category=Cat.POST_CONSUMER_SCRAP, form="bales",
                        classification=Classification.ELIGIBLE_SCRAP), NOW)
    account = books.accounts[group()]
    assert account.buckets == {"post_consumer_scrap|bales": Decimal(500)}
    assert account.period.recycled == {"post_consumer_scrap|bales": {"coc_kg": Decimal(500),
                                                                      "post_consumer_kg": Decimal(500)}}


def test_credits_round_down_and_designations_round_up_to_the_gram():
    books = ledger(GROUP)
    [entry] = entries(books.apply(receipt("10", "1.0009"), NOW))
    assert entry.coc_credit_kg == Decimal("1.000")
    outcomes = books.apply(ship("10", "0.9991"), NOW)
    [debit] = entries(outcomes)
    assert debit.coc_credit_kg == Decimal("-1.000") and debit.balance_after_kg == Decimal(0)


def test_a_transformation_converts_the_credits_of_its_inputs_with_the_step_factor():
    books = ledger(GROUP)
    books.apply(receipt("4000", "1930", category=Cat.ALUMINA, form="powder"), NOW)
    outcomes = books.apply(transform([(Cat.ALUMINA, "powder", "3860")], [(Cat.ALUMINIUM, "ingot", "2000")], "0.518"), NOW)
    [entry] = entries(outcomes)
    assert entry.kind is EntryKind.TRANSFORMATION
    assert entry.credit_buckets_kg == {"alumina|powder": Decimal(-1930), "aluminium|ingot": Decimal("999.740")}
    assert books.accounts[group()].balance == Decimal("999.740")
    assert books.accounts[group()].period.conversion_applied == {"alumina_to_aluminium": Decimal("0.518")}


def test_a_transformation_converts_no_more_than_its_input_and_never_creates_more_than_its_output():
    books = ledger(GROUP)
    books.apply(receipt("1000", "1000", form="ingot"), NOW)
    books.apply(transform([(Cat.ALUMINIUM, "ingot", "200")], [(Cat.ALUMINIUM, "sheet", "100")], "2",
                          step=ProcessStep.ROLLING), NOW)
    assert books.accounts[group()].buckets == {"aluminium|ingot": Decimal(800),
                                                           "aluminium|sheet": Decimal(100)}


def test_under_the_credit_method_a_designation_draws_only_on_credits_of_the_shipped_product():
    books = ledger(GROUP)
    books.apply(receipt("1000", "1000", form="ingot"), NOW)
    assert denied(books.apply(ship("100", "100", form="sheet"), NOW)) == ["insufficient_credits"]
    books.apply(transform([(Cat.ALUMINIUM, "ingot", "500")], [(Cat.ALUMINIUM, "sheet", "400")], "0.8",
                          step=ProcessStep.ROLLING), NOW)
    assert "DocumentDue" in kinds(books.apply(ship("400", "400", form="sheet"), NOW))
    assert denied(books.apply(ship("1", "0.001", form="sheet"), NOW)) == ["insufficient_credits"]


def test_an_accepted_designation_debits_and_issues_a_coc_document():
    books = ledger(GROUP)
    books.apply(receipt("1000", "600", pre="0.05", post="0.2"), NOW)
    shipment = ship("500", "250")
    outcomes = books.apply(shipment, NOW)
    assert kinds(outcomes) == ["EntryPosted", "DocumentDue"]
    [debit] = entries(outcomes)
    assert (debit.kind, debit.coc_credit_kg, debit.coc_output_kg, debit.balance_after_kg) == (
        EntryKind.DESIGNATION_DEBIT, Decimal(-250), Decimal(250), Decimal(350))
    document = outcomes[1].document
    assert document.issuer_certificate_number == "ASI-COC-2026-cert-1"
    assert (document.coc_mass_kg, document.shipment_reference, document.recipient_organisation_id) == (
        Decimal(250), shipment.shipment_reference, "org-buyer")
    assert document.recycled_content_share == Decimal("0.25") and document.rule_set_id == GROUP
    assert (document.recycled_pre_consumer_share, document.recycled_post_consumer_share) == (
        Decimal("0.05"), Decimal("0.2"))
    assert (document.recycled_content_period_start, document.recycled_content_period_end) == (
        date(2026, 1, 1), date(2026, 12, 31))


def test_an_overdraft_is_refused_whole_and_nothing_of_it_is_applied():
    books = ledger(GROUP)
    books.apply(receipt("1000", "100"), NOW)
    before = (books.accounts[group()].balance, books.accounts[group()].sequence)
    outcomes = books.apply(ship("500", "100.0001"), NOW)
    assert kinds(outcomes) == ["DesignationDenied"]
    assert outcomes[0].available == Decimal(100) and denied(outcomes) == ["insufficient_credits"]
    assert (books.accounts[group()].balance, books.accounts[group()].sequence) == before
    assert len(books.entries) == 1


def test_the_percentage_rule_limits_the_coc_share_of_outputs_to_that_of_inputs():
    books = ledger()  # default V2-2022: group, percentage
    books.apply(receipt("1000", "100"), NOW)
    books.apply(receipt("1000", "0"), NOW)
    # CoC share of inputs: 100 / 2000 = 5 %
    assert denied(books.apply(ship("500", "25.001"), NOW)) == ["percentage_rule_exceeded"]
    assert "DocumentDue" in kinds(books.apply(ship("500", "25"), NOW))
    assert denied(books.apply(ship("100", "5.001"), NOW)) == ["percentage_rule_exceeded"]
    assert "DocumentDue" in kinds(books.apply(ship("100", "5"), NOW))


def test_a_shipment_without_coc_mass_is_an_output_only():
    books = ledger()
    [entry] = entries(books.apply(ship("700", "0"), NOW))
    assert (entry.kind, entry.coc_credit_kg, entry.total_output_kg) == (EntryKind.OUTPUT_RECORDED, 0, Decimal(700))


# ---- site versus group ----------------------------------------------------------------------


def test_a_site_without_coc_input_ships_coc_under_the_group_model_but_not_under_the_site_model():
    for rule_set_id, expected in ((GROUP, "DocumentDue"), ("v2-2022-group-percentage", "DocumentDue"),
                                  (SITE, "DesignationDenied")):
        books = ledger(rule_set_id)
        books.apply(receipt("1000", "1000", site="site-a"), NOW)
        books.apply(receipt("1000", "0", site="site-b"), NOW)
        outcomes = books.apply(ship("200", "100", site="site-b"), NOW)
        assert expected in kinds(outcomes), rule_set_id
    assert set(denied(outcomes)) == {"no_coc_input_in_period", "insufficient_credits"}


def test_under_the_site_model_each_site_keeps_its_own_account():
    books = ledger(SITE)
    books.apply(receipt("1000", "300", site="site-a"), NOW)
    books.apply(receipt("1000", "5", site="site-b"), NOW)
    assert {a: acc.balance for a, acc in books.accounts.items()} == {"site:site-a": Decimal(300),
                                                                     "site:site-b": Decimal(5)}
    assert denied(books.apply(ship("100", "6", site="site-b"), NOW)) == ["insufficient_credits"]
    assert "DocumentDue" in kinds(books.apply(ship("100", "5", site="site-b"), NOW))


def test_a_receipt_dated_before_the_open_period_does_not_satisfy_the_site_input_rule():
    books = ledger(SITE)
    books.apply(receipt("10", "0", day=date(2027, 1, 5)), NOW)
    outcomes = books.apply(receipt("100", "100", day=date(2026, 12, 30)), NOW)
    [entry] = entries(outcomes)
    assert entry.period_id == "2027-01-01" and "before the open period" in entry.note
    assert "no_coc_input_in_period" in denied(books.apply(ship("10", "10", day=date(2027, 1, 6)), NOW))


# ---- certificates ---------------------------------------------------------------------------


def test_designations_need_a_current_certificate_covering_the_site_and_receipts_outside_it_earn_nothing():
    books = ledger(GROUP, certified=False)
    [entry] = entries(books.apply(receipt("1000", "1000"), NOW))
    assert (entry.account_id, entry.coc_credit_kg, entry.total_input_kg) == ("group:org-smelter", 0, Decimal(1000))
    assert "no current CoC certificate covers site site-a" in entry.note
    assert set(denied(books.apply(ship("10", "10"), NOW))) == {
        "site_not_coc_certified", "site_not_ps_certified", "insufficient_credits"}

    books = ledger(GROUP)
    books.apply(receipt("1000", "1000"), NOW)
    books.certificates["cert-1"] = certificate(status=CertificateStatus.SUSPENDED, revision=2)
    [entry] = entries(books.apply(receipt("10", "10"), NOW))
    assert entry.coc_credit_kg == 0 and "is suspended" in entry.note
    assert denied(books.apply(ship("10", "10"), NOW)) == ["account_frozen"]
    assert books.accounts[group()].balance == Decimal(1000)
    assert books.accounts[group()].period.non_coc_inputs == {"site_not_coc_certified": Decimal(10)}
    books.certificates["cert-1"] = certificate(status=CertificateStatus.ACTIVE, revision=3)
    assert "DocumentDue" in kinds(books.apply(ship("10", "10"), NOW))


# ---- corrections and cancellations ----------------------------------------------------------


def test_a_cancellation_reverses_the_entries_with_new_ones_that_reference_them():
    books = ledger(GROUP)
    original = receipt("1000", "400")
    [credit] = entries(books.apply(original, NOW))
    [reversal] = entries(books.apply(cancel(original.movement_id), NOW))
    assert (reversal.kind, reversal.reverses_entry_id, reversal.coc_credit_kg) == (
        EntryKind.REVERSAL, credit.entry_id, Decimal(-400))
    assert books.accounts[group()].balance == 0
    assert books.accounts[group()].period.coc_input == 0


def test_a_correction_replaces_the_movement_and_a_late_original_is_ignored():
    books = ledger(GROUP)
    original = receipt("1000", "400")
    books.apply(original, NOW)
    kinds_seen = [e.kind for e in entries(books.apply(receipt("1000", "300", corrects=original.movement_id), NOW))]
    assert kinds_seen == [EntryKind.RECEIPT_CREDIT, EntryKind.REVERSAL]
    assert books.accounts[group()].balance == Decimal(300)
    assert books.apply(original, NOW) == []


def test_a_cancellation_arriving_before_its_movement_voids_it():
    books = ledger(GROUP)
    original = receipt("1000", "400")
    books.apply(cancel(original.movement_id), NOW)
    assert books.apply(original, NOW) == []
    assert group() not in books.accounts


def test_a_reversal_that_would_overdraw_is_refused():
    books = ledger(GROUP)
    original = receipt("1000", "400")
    books.apply(original, NOW)
    books.apply(ship("400", "300"), NOW)
    assert denied(books.apply(cancel(original.movement_id), NOW)) == ["reversal_would_overdraw"]
    assert books.accounts[group()].balance == Decimal(100)


def test_correcting_a_designation_gives_its_credits_back_before_debiting_the_new_mass():
    books = ledger(GROUP)
    books.apply(receipt("1000", "400"), NOW)
    first = ship("400", "400")
    books.apply(first, NOW)
    outcomes = books.apply(ship("400", "350", corrects=first.movement_id), NOW)
    assert [e.kind for e in entries(outcomes)] == [EntryKind.REVERSAL, EntryKind.DESIGNATION_DEBIT]
    assert books.accounts[group()].balance == Decimal(50)


# ---- periods --------------------------------------------------------------------------------


def test_the_clock_closes_every_ended_period_once_with_carry_over_per_rule_set():
    books = ledger(GROUP)
    books.apply(receipt("1000", "400", day=date(2025, 3, 1)), NOW)
    outcomes = books.close_due(date(2026, 6, 1), NOW)
    [statement] = [o.statement for o in outcomes if isinstance(o, StatementWritten)]
    assert (statement.period_id, statement.period_end, statement.closing_balance_kg, statement.carried_over_kg) == (
        "2025-01-01", date(2025, 12, 31), Decimal(400), Decimal(400))
    assert books.accounts[group()].period.opening_balance == Decimal(400)
    assert books.close_due(date(2026, 6, 1), NOW) == []


def test_without_carry_over_free_credits_are_forfeited_at_close():
    books = ledger()  # V2: no carry-over
    books.apply(receipt("1000", "400", day=date(2025, 3, 1)), NOW)
    outcomes = books.close_due(date(2027, 1, 2), NOW)
    statements = [o.statement for o in outcomes if isinstance(o, StatementWritten)]
    assert [s.period_id for s in statements] == ["2025-01-01", "2026-01-01"]
    assert statements[0].forfeited_kg == Decimal(400) and statements[0].carried_over_kg == 0
    forfeit = [e for e in entries(outcomes) if e.kind is EntryKind.FORFEIT]
    assert forfeit[0].coc_credit_kg == Decimal(-400) and forfeit[0].period_id == "2025-01-01"
    assert statements[0].last_entry_hash == forfeit[0].hash


def test_a_period_closed_on_command_ends_today_and_the_next_realigns_with_the_calendar():
    books = ledger(GROUP)
    books.apply(receipt("1000", "400", day=date(2026, 2, 1)), NOW)
    outcomes = books.close_now(group(), date(2026, 6, 1), NOW)
    [statement] = [o.statement for o in outcomes if isinstance(o, StatementWritten)]
    assert statement.period_end == date(2026, 6, 1)
    period = books.accounts[group()].period
    assert (period.period_id, period.start, period.end) == ("2026-06-02", date(2026, 6, 2), date(2026, 12, 31))
    assert "CommandDenied" in kinds(books.close_now("group:nobody", date(2026, 6, 1), NOW))


# ---- allocations ----------------------------------------------------------------------------


def brand_books():
    books = ledger(GROUP, org="brand")
    books.apply(receipt("300", "300", org="brand", document="doc-1", recycled="1", footprint="0.5",
                        day=date(2026, 3, 1)), NOW)
    books.apply(receipt("300", "300", org="brand", document="doc-2", recycled="0", footprint="2.5",
                        day=date(2026, 4, 1)), NOW)
    return books


def test_an_allocation_reserves_free_credits_fifo_with_the_documents_behind_them():
    books = brand_books()
    [*_, granted] = claims_mass.allocate(books, "claim-1", "brand", Decimal(400), date(2026, 6, 1))
    allocation = granted.allocation
    assert [(d.document_id, d.mass_kg) for d in allocation.documents] == [("doc-1", Decimal(300)),
                                                                         ("doc-2", Decimal(100))]
    assert allocation.recycled_content_share == Decimal("0.75")
    assert allocation.carbon_footprint == Decimal(1)
    assert books.accounts[group("brand")].reserved == Decimal(400)


def test_an_allocation_is_idempotent_per_claim_and_never_uses_a_tonne_twice():
    books = brand_books()
    first = claims_mass.allocate(books, "claim-1", "brand", Decimal(400), date(2026, 6, 1))[-1]
    again = claims_mass.allocate(books, "claim-1", "brand", Decimal(400), date(2026, 6, 1))
    assert again == [first] and books.accounts[group("brand")].reserved == Decimal(400)
    refused = claims_mass.allocate(books, "claim-2", "brand", Decimal(201), date(2026, 6, 1))
    assert refused[0].available == Decimal(200)
    assert denied(refused) == ["insufficient_credits", "mass_already_claimed"] and refused[0].held_by == ("claim-1",)
    assert denied(books.apply(ship("300", "201", org="brand"), NOW)) == ["insufficient_credits"]


def test_a_release_frees_the_mass_and_a_release_of_nothing_answers_zero():
    books = brand_books()
    claims_mass.allocate(books, "claim-1", "brand", Decimal(400), date(2026, 6, 1))
    released = claims_mass.release(books, "claim-1", "brand", date(2026, 6, 2))
    assert released[-1] == Released("claim-1", "brand", Decimal(400))
    assert books.accounts[group("brand")].reserved == 0
    assert claims_mass.release(books, "claim-1", "brand", date(2026, 6, 2)) == [Released("claim-1", "brand", Decimal("0.000"))]
    assert isinstance(claims_mass.allocate(books, "claim-2", "brand", Decimal(600), date(2026, 6, 2))[-1], Granted)


def test_a_document_whose_share_is_unknown_makes_the_weighted_share_unknown():
    books = ledger(GROUP, org="brand")
    books.apply(receipt("300", "300", org="brand", document="doc-1", recycled="1"), NOW)
    books.apply(receipt("300", "300", org="brand", document="doc-2"), NOW)
    allocation = claims_mass.allocate(books, "claim-1", "brand", Decimal(600), date(2026, 6, 1))[-1].allocation
    assert allocation.recycled_content_share is None and allocation.carbon_footprint is None


def test_a_receipt_whose_document_backs_a_claim_cannot_be_cancelled():
    books = ledger(GROUP, org="brand")
    original = receipt("300", "300", org="brand", document="doc-1", day=date(2026, 3, 1))
    books.apply(original, NOW)
    books.apply(receipt("300", "300", org="brand", document="doc-2", day=date(2026, 4, 1)), NOW)
    claims_mass.allocate(books, "claim-1", "brand", Decimal(100), date(2026, 6, 1))
    assert denied(books.apply(cancel(original.movement_id, org="brand"), NOW)) == ["lot_allocated_to_claim"]


def test_documents_are_listed_for_a_shipment():
    books = ledger(GROUP)
    books.apply(receipt("1000", "600"), NOW)
    assert [type(o) for o in books.apply(ship("500", "250"), NOW)][-1] is DocumentDue


def test_bauxite_mined_at_a_certified_mine_originates_coc_credits_and_elsewhere_does_not():
    mined = [(Cat.BAUXITE, "ore", "4500")], [(Cat.BAUXITE, "crushed", "4500")]
    certified = ledger(SITE)
    [entry] = entries(certified.apply(transform(*mined, "1", step=ProcessStep.MINING), NOW))
    assert entry.credit_buckets_kg == {"bauxite|crushed": Decimal(4500)} and entry.coc_input_kg == Decimal(4500)
    assert "DocumentDue" in kinds(certified.apply(ship("4500", "4500", category=Cat.BAUXITE, form="crushed"), NOW))

    uncertified = ledger(SITE, certified=False)
    [entry] = entries(uncertified.apply(transform(*mined, "1", step=ProcessStep.MINING), NOW))
    assert entry.credit_buckets_kg == {} and entry.total_input_kg == Decimal(4500)
