"""Issue 15: accounts follow the certificate, both certificates to designate, conversion by material,
periods that reconcile, credits that age. The exact scenarios of the issue are pinned here."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from contracts.common import Classification, DueDiligenceStatus, ProcessStep
from contracts.common import MaterialCategory as Cat
from contracts.ledger import CertificationBodyAlerted, EntryKind
from contracts.registry import CertificateStatus
from services.accounting.domain import claims_mass
from services.accounting.domain import rules as rules_module
from services.accounting.domain.ledger import AlertDue, DesignationDenied, DocumentDue, EntryPosted, StatementWritten
from services.accounting.domain.rules import Overshoot
from services.accounting.adapters.messages import KafkaMessages
from services.accounting.signing import Signer
from tests.unit.accounting.factories import (
    NOW,
    certificate,
    group,
    ledger,
    ps_certificate,
    receipt,
    ship,
    transform,
)

GROUP, SITE, V2 = "v3-draft-group-credit", "v3-draft-site-credit", "v2-2022-group-percentage"


def entries(outcomes):
    return [o.entry for o in outcomes if isinstance(o, EntryPosted)]


def reasons(outcomes):
    [refusal] = [o for o in outcomes if isinstance(o, DesignationDenied)]
    return {r.code for r in refusal.reasons}


def documented(outcomes) -> bool:
    return any(isinstance(o, DocumentDue) for o in outcomes)


def statements(outcomes):
    return [o.statement for o in outcomes if isinstance(o, StatementWritten)]


# ---- accounts follow the certificate --------------------------------------------------------------


def two_scopes(rule_set_id: str = GROUP):
    books = ledger(rule_set_id)
    books.certificates["cert-2"] = certificate(certificate_id="cert-2", sites=("site-c",))
    books.certificates["ps-2"] = ps_certificate(certificate_id="ps-2", sites=("site-c",))
    return books


def test_an_organisation_with_two_coc_certificates_has_two_pools_and_credits_never_cross():
    books = two_scopes()
    books.apply(receipt("1000", "1000", site="site-a"), NOW)
    books.apply(receipt("100", "100", site="site-c"), NOW)
    assert {k: a.balance for k, a in books.accounts.items()} == {group(): Decimal(1000),
                                                                 group(scope="cert-2"): Decimal(100)}
    assert reasons(books.apply(ship("500", "101", site="site-c"), NOW)) == {"insufficient_credits"}
    assert documented(books.apply(ship("500", "100", site="site-c"), NOW))
    assert documented(books.apply(ship("500", "500", site="site-b"), NOW))  # site-b shares cert-1's pool


def test_a_renewed_certificate_keeps_its_scope_pool():
    books = ledger(GROUP)
    books.apply(receipt("1000", "1000"), NOW)
    books.certificates["cert-1"] = certificate(status=CertificateStatus.SUPERSEDED, revision=2)
    books.certificates["cert-9"] = certificate(certificate_id="cert-9", supersedes="cert-1")
    assert books.place("org-smelter", "site-a", NOW.date()).account_id == group()
    assert documented(books.apply(ship("500", "500"), NOW))


def test_a_receipt_at_a_site_no_coc_certificate_covers_is_non_coc_input_with_a_reason():
    books = ledger(GROUP)
    [entry] = entries(books.apply(receipt("800", "800", site="site-x"), NOW))
    assert (entry.account_id, entry.coc_credit_kg, entry.coc_input_kg, entry.total_input_kg) == (
        "group:org-smelter", 0, 0, Decimal(800))
    assert "no current CoC certificate covers site site-x" in entry.note
    assert books.accounts["group:org-smelter"].period.non_coc_inputs == {"site_not_coc_certified": Decimal(800)}
    assert reasons(books.apply(ship("100", "100", site="site-x"), NOW)) >= {"site_not_coc_certified"}


# ---- both certificates ---------------------------------------------------------------------------


def test_a_designation_needs_a_current_performance_standard_certificate_too():
    books = ledger(GROUP)
    del books.certificates["ps-1"]
    books.apply(receipt("1000", "1000"), NOW)
    assert reasons(books.apply(ship("10", "10"), NOW)) == {"site_not_ps_certified"}
    books.certificates["ps-1"] = ps_certificate(status=CertificateStatus.SUSPENDED)
    assert reasons(books.apply(ship("10", "10"), NOW)) == {"ps_certificate_lapsed"}
    books.certificates["ps-1"] = ps_certificate(revision=2)
    assert documented(books.apply(ship("10", "10"), NOW))


def test_a_ps_certificate_of_another_site_does_not_count():
    books = ledger(GROUP)
    books.certificates["ps-1"] = ps_certificate(sites=("site-b",))
    books.apply(receipt("1000", "1000"), NOW)
    assert reasons(books.apply(ship("10", "10", site="site-a"), NOW)) == {"site_not_ps_certified"}


def test_receiving_coc_material_needs_no_ps_certificate_and_a_suppliers_suspension_changes_nothing_received():
    books = ledger(GROUP)
    del books.certificates["ps-1"]
    [entry] = entries(books.apply(receipt("1000", "1000"), NOW))
    assert entry.coc_credit_kg == Decimal(1000)
    books.certificates["ps-1"] = ps_certificate()
    books.certificates["sup-1"] = certificate(org="org-supplier", certificate_id="sup-1", sites=("site-s",),
                                              status=CertificateStatus.SUSPENDED)
    assert documented(books.apply(ship("1000", "1000"), NOW))


# ---- conversion ------------------------------------------------------------------------------------


def test_alumina_credits_never_become_aluminium_one_for_one():
    """The issue's smelter: 10 t CoC alumina, no transformation reported, 5.182 t then 4.818 t of metal."""
    for rule_set_id in (V2, GROUP):
        books = ledger(rule_set_id)
        books.apply(receipt("10000", "10000", category=Cat.ALUMINA, form="powder"), NOW)
        first = books.apply(ship("5182", "5182", category=Cat.ALUMINIUM, form="ingot"), NOW)
        assert "insufficient_credits" in reasons(first), rule_set_id
        assert "through a reported transformation" in str(first[0].reasons)
        assert "insufficient_credits" in reasons(books.apply(ship("4818", "4818", category=Cat.ALUMINIUM), NOW))
        assert books.accounts[group()].buckets == {"alumina|powder": Decimal(10000)}


def test_a_reported_transformation_converts_alumina_credits_with_the_steps_factor():
    books = ledger(V2)
    books.apply(receipt("10000", "10000", category=Cat.ALUMINA, form="powder"), NOW)
    books.apply(transform([(Cat.ALUMINA, "powder", "10000")], [(Cat.ALUMINIUM, "ingot", "5182")], "0.5182"), NOW)
    assert books.accounts[group()].buckets == {"aluminium|ingot": Decimal(5182)}
    assert reasons(books.apply(ship("5183", "5183", form="ingot"), NOW)) >= {"insufficient_credits"}
    assert documented(books.apply(ship("5182", "5182", form="ingot"), NOW))


def test_a_remelting_step_with_process_scrap_keeps_its_coc_volume_and_the_scrap_is_not_coc_input_twice():
    """The issue's remelter: credits were spread over the process scrap after the yield, losing ~a fifth."""
    books = ledger(GROUP)
    books.apply(receipt("1000", "1000", category=Cat.POST_CONSUMER_SCRAP, form="bales",
                        classification=Classification.ELIGIBLE_SCRAP), NOW)
    remelt = transform([(Cat.POST_CONSUMER_SCRAP, "bales", "1000"), (Cat.PRE_CONSUMER_SCRAP, "process-scrap", "250")],
                       [(Cat.ALUMINIUM, "ingot", "1000"), (Cat.PRE_CONSUMER_SCRAP, "process-scrap", "220")], "0.97",
                       step=ProcessStep.REMELTING)
    [entry] = entries(books.apply(remelt, NOW))
    assert entry.credit_buckets_kg == {"post_consumer_scrap|bales": Decimal(-1000), "aluminium|ingot": Decimal(970)}
    # the scrap goes round again: no credits ride on it, so none are made a second time
    again = transform([(Cat.PRE_CONSUMER_SCRAP, "process-scrap", "220")], [(Cat.ALUMINIUM, "ingot", "213")], "0.97",
                      step=ProcessStep.REMELTING)
    books.apply(again, NOW)
    assert books.accounts[group()].buckets == {"aluminium|ingot": Decimal(970)}
    [statement] = statements(books.close_now(group(), date(2026, 6, 1), NOW))
    [step] = statement.transformations
    assert (step.process_step, step.conversion_factor, step.input_kg, step.coc_input_kg, step.output_kg,
            step.scrap_kg, step.credits_created_kg) == (
        "remelting", Decimal("0.97"), Decimal(1470), Decimal(1000), Decimal(1213), Decimal(220), Decimal(970))


def test_eligible_scrap_credits_ship_only_as_scrap_until_remelted():
    books = ledger(V2)
    books.apply(receipt("1000", "1000", category=Cat.PRE_CONSUMER_SCRAP, form="bales",
                        classification=Classification.ELIGIBLE_SCRAP), NOW)
    assert "insufficient_credits" in reasons(books.apply(ship("100", "100", category=Cat.ALUMINIUM), NOW))
    assert documented(books.apply(ship("100", "100", category=Cat.POST_CONSUMER_SCRAP, form="bales"), NOW))


# ---- periods reconcile -------------------------------------------------------------------------------


def dd_failed(kg: str, **kwargs):
    return receipt(kg, "0", **kwargs).model_copy(update={"due_diligence_status": DueDiligenceStatus.FAILED,
                                                         "due_diligence_reference": "dd-77"})


def test_a_receipt_that_failed_due_diligence_counts_in_the_inputs_earns_nothing_and_alerts_the_body():
    books = ledger(V2)
    books.apply(receipt("1000", "1000"), NOW)
    failed = dd_failed("1000").model_copy(update={"coc_quantity_kg": Decimal(1000),
                                                  "classification": Classification.COC_MATERIAL})
    outcomes = books.apply(failed, NOW)
    [entry] = entries(outcomes)
    [alert] = [o for o in outcomes if isinstance(o, AlertDue)]
    assert (entry.coc_credit_kg, entry.total_input_kg) == (0, Decimal(1000)) and "dd-77" in entry.note
    assert (alert.kind, alert.mass, alert.movement_id) == ("due_diligence_failed", Decimal(1000), failed.movement_id)
    period = books.accounts[group()].period
    assert (period.coc_input, period.total_input, period.non_coc_inputs) == (
        Decimal(1000), Decimal(2000), {"due_diligence_failed": Decimal(1000)})
    # half the input was CoC, so half of the output may be
    assert "percentage_rule_exceeded" in reasons(books.apply(ship("1000", "500.001"), NOW))
    assert documented(books.apply(ship("1000", "500"), NOW))


def overshooting(books, day=date(2025, 3, 1)):
    books.apply(receipt("100", "100", day=day), NOW)
    assert documented(books.apply(ship("100", "100", day=day), NOW))
    books.apply(receipt("1000", "0", day=day), NOW)  # arrives after the shipment: the period's share drops


def test_at_close_the_percentage_rule_is_checked_over_the_whole_period_and_an_overshoot_is_reported():
    books = ledger(V2)
    overshooting(books)
    outcomes = books.close_due(date(2026, 1, 2), NOW)
    [statement] = statements(outcomes)
    # 100 CoC of 1100 in, 100 of 100 out: at most 100 * 100 / 1100 = 9.090 kg CoC out
    assert (statement.percentage_overshoot_kg, statement.overshoot_handling) == (Decimal("90.910"), "non_conformity")
    [alert] = [o for o in outcomes if isinstance(o, AlertDue)]
    assert (alert.kind, alert.mass, alert.period_id) == ("percentage_overshoot", Decimal("90.910"), "2025-01-01")
    assert books.accounts[group()].period.deducted == 0


@pytest.fixture
def deducting(monkeypatch):
    variant = replace(rules_module.V2_2022_GROUP_PERCENTAGE, rule_set_id="v2-deducting",
                      overshoot=Overshoot.DEDUCT_NEXT_PERIOD)
    monkeypatch.setitem(rules_module.CATALOGUE, variant.rule_set_id, variant)
    return variant.rule_set_id


def test_an_overshoot_the_rule_set_deducts_is_charged_against_the_next_period(deducting):
    books = ledger(deducting)
    overshooting(books)
    outcomes = books.close_due(date(2026, 1, 2), NOW)
    assert not [o for o in outcomes if isinstance(o, AlertDue)]
    assert statements(outcomes)[0].overshoot_handling == "deduct_next_period"
    day = date(2026, 2, 1)
    books.apply(receipt("1000", "1000", day=day), NOW)
    assert "percentage_rule_exceeded" in reasons(books.apply(ship("1000", "909.091", day=day), NOW))
    assert documented(books.apply(ship("1000", "909.090", day=day), NOW))
    [statement] = statements(books.close_due(date(2027, 1, 2), NOW))
    assert (statement.overshoot_brought_in_kg, statement.percentage_overshoot_kg) == (Decimal("90.910"), 0)


# ---- credits age ---------------------------------------------------------------------------------------


def test_credits_expire_after_the_rule_sets_lifetime_oldest_used_first_with_an_entry_that_says_why():
    books = ledger(GROUP)  # carry-over, credits live 12 months (verify)
    books.apply(receipt("300", "300", day=date(2025, 3, 10)), NOW)
    books.apply(receipt("300", "300", day=date(2025, 9, 10)), NOW)
    books.apply(ship("200", "200", day=date(2025, 10, 1)), NOW)  # takes March's credits first
    outcomes = books.apply(receipt("10", "0", day=date(2026, 3, 2)), NOW)
    [expired] = [e for e in entries(outcomes) if e.kind is EntryKind.CREDIT_EXPIRED]
    assert expired.coc_credit_kg == Decimal(-100) and "2025-03" in expired.note and "12 months" in expired.note
    assert books.accounts[group()].balance == Decimal(300)
    books.apply(receipt("10", "0", day=date(2026, 9, 2)), NOW)
    assert books.accounts[group()].balance == 0
    [statement] = statements(books.close_due(date(2027, 1, 2), NOW))
    assert statement.expired_kg == Decimal(400)


def test_credits_reserved_for_a_claim_do_not_expire():
    books = ledger(GROUP)
    books.apply(receipt("300", "300", day=date(2025, 3, 10)), NOW)
    claims_mass.allocate(books, "claim-1", "org-smelter", Decimal(100), date(2025, 4, 1))
    books.apply(receipt("10", "0", day=date(2026, 3, 2)), NOW)
    account = books.accounts[group()]
    assert (account.balance, account.reserved) == (Decimal(100), Decimal(100))


def test_a_conversion_keeps_the_age_of_the_credits_it_converts():
    books = ledger(GROUP)
    books.apply(receipt("1000", "1000", category=Cat.ALUMINA, form="powder", day=date(2025, 3, 10)), NOW)
    books.apply(transform([(Cat.ALUMINA, "powder", "1000")], [(Cat.ALUMINIUM, "ingot", "518")], "0.518",
                          day=date(2025, 11, 5)), NOW)
    assert books.accounts[group()].layers == {"aluminium|ingot@2025-03-01": Decimal(518)}


def test_an_alert_is_published_for_the_certification_body_with_a_deterministic_id():
    service = KafkaMessages(Signer.generate())
    books = ledger(V2)
    failed = dd_failed("1000")
    outcomes = books.apply(failed, NOW)
    published = [o.message for o in service.publish(outcomes, failed, NOW)]
    [alert] = [m for m in published if isinstance(m, CertificationBodyAlerted)]
    assert (alert.alert_kind.value, alert.account_id, alert.mass_kg, alert.movement_id) == (
        "due_diligence_failed", group(), Decimal(1000), failed.movement_id)
    again = [o.message for o in service.publish(outcomes, failed, NOW)]
    assert [m.event_id for m in again] == [m.event_id for m in published]


def test_a_site_days_coverage_and_account_are_worked_out_again_when_a_certificate_changes():
    books = ledger(GROUP)
    day = NOW.date()
    before = (books.coverage("org-smelter", "site-a", day), books.place("org-smelter", "site-a", day))
    books.certificates["cert-1"] = certificate(status=CertificateStatus.SUSPENDED, revision=2)
    suspended = (books.coverage("org-smelter", "site-a", day), books.place("org-smelter", "site-a", day))
    books.certificates["cert-1"] = certificate(sites=("site-b",), revision=3)
    elsewhere = books.place("org-smelter", "site-a", day)
    assert [c.coverage.value for c, _ in (before, suspended)] == ["current", "lapsed"]
    assert (before[1].account_id, suspended[1].account_id) == (group(), group())
    assert not suspended[1].credits_allowed and before[1].credits_allowed
    assert (elsewhere.coverage.coverage.value, elsewhere.account_id) == ("none", "group:org-smelter")
