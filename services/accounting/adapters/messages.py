"""The only place accounting's outcomes become contract messages: envelopes with deterministic
event ids (a re-run emits the same ids), all on `ledger.events.v1`, keyed by the topic's key (the
account id, `owner:<org>` for allocations). CoC Documents are signed here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from contracts import topics
from contracts.certificates import CertificateChanged
from contracts.common import Actor, Envelope, Reason, Role, derived_event_id
from contracts.ledger import (
    AccountFrozen,
    AccountThawed,
    AlertKind,
    AllocationGranted,
    AllocationRefused,
    AllocationReleased,
    AssignRuleSet,
    CertificationBodyAlerted,
    ClaimMassDebited,
    ClaimMassReturned,
    CoCDocumentIssued,
    DesignationRefused,
    LedgerCommandRejected,
    LedgerEntryPosted,
    LedgerReason,
    MovementRefused,
    PeriodClosed,
    RequestShadowReport,
    RuleSetAssigned,
    ShadowPeriod,
    ShadowReportPublished,
    site_account_id,
)
from contracts.registry import Certificate
from libs.messaging import Outgoing
from services.accounting.domain import claims_mass
from services.accounting.domain import outcomes as done
from services.accounting.domain.rules import RuleSet
from services.accounting.domain.shadow import ShadowReport
from services.accounting.signing import Signer

ACTOR = Actor(organisation_id="accounting", role=Role.SERVICE)
MESSAGE_MAX = 2000
CONFLICT = "this event id was already used with different content"


def emit(
    kind: type[Envelope], now: datetime, cause: Envelope | None, event_id: uuid.UUID, **body: Any
) -> Outgoing:
    """One envelope on `ledger.events.v1`; without a cause (the period clock) its correlation id is
    derived from its event id, so a re-run correlates the same way."""
    correlation = None if cause is not None else derived_event_id(event_id, "correlation")
    message = kind.create(
        actor=ACTOR,
        occurred_at=now,
        cause=cause,
        event_id=event_id,
        correlation_id=correlation,
        **body,
    )
    return Outgoing(message, topics.LEDGER_EVENTS, topics.LEDGER_EVENTS.key_of(message))


class KafkaMessages:
    """The `Messages` port on the contracts."""

    def __init__(self, signer: Signer | None = None) -> None:
        self.signer = signer

    def _signer(self) -> Signer:
        if self.signer is None:
            raise RuntimeError("the signing key is loaded at start-up or by the first batch")
        return self.signer

    def publish(
        self,
        outcomes: Sequence[done.Outcome | claims_mass.Outcome],
        cause: Envelope | None,
        now: datetime,
        release_reason: str = "released",
    ) -> list[Outgoing]:
        out: list[Outgoing] = []
        for outcome in outcomes:
            if isinstance(outcome, done.EntryPosted):
                entry = outcome.entry
                out.append(
                    emit(
                        LedgerEntryPosted,
                        now,
                        cause,
                        derived_event_id(entry.entry_id, "posted"),
                        entry=entry,
                    )
                )
            elif isinstance(outcome, done.DocumentDue):
                document, signer = outcome.document, self._signer()
                out.append(
                    emit(
                        CoCDocumentIssued,
                        now,
                        cause,
                        derived_event_id(document.document_id, "issued"),
                        account_id=outcome.account_id,
                        document=document,
                        signature=signer.sign(document),
                        key_id=signer.key_id,
                    )
                )
            elif isinstance(outcome, done.AlertDue):
                out.append(alert(outcome, cause, now))
            elif isinstance(outcome, done.StatementWritten):
                s = outcome.statement
                out.append(
                    emit(
                        PeriodClosed,
                        now,
                        cause,
                        derived_event_id(f"{s.account_id}|{s.period_id}", "closed"),
                        statement=s,
                    )
                )
            elif cause is None:
                raise ValueError(f"{type(outcome).__name__} answers a message; none was given")
            else:
                out.append(reply(outcome, cause, now, release_reason))
        return out

    def rejection(self, cause: Envelope, reasons: list[Reason], now: datetime) -> Outgoing:
        return rejection(cause, reasons, now)

    def rule_set_assigned(
        self, cause: AssignRuleSet, rules: RuleSet, effective_from: date, now: datetime
    ) -> Outgoing:
        organisation_id = cause.organisation_id
        return emit(
            RuleSetAssigned,
            now,
            cause,
            derived_event_id(cause.event_id, RuleSetAssigned.TYPE),
            organisation_id=organisation_id,
            rule_set_id=rules.rule_set_id,
            rule_set_version=rules.version,
            effective_from=effective_from,
        )

    def shadow_report(
        self, cause: RequestShadowReport, report: ShadowReport, now: datetime
    ) -> Outgoing:
        rows = [
            ShadowPeriod(
                rule_set_id=v.rule_set_id,
                account_id=v.account_id,
                period_id=v.period_id,
                closed=v.closed,
                coc_input_kg=v.coc_input,
                total_input_kg=v.total_input,
                coc_output_kg=v.coc_output,
                total_output_kg=v.total_output,
                designated_kg=v.designated,
                designations=v.designations,
                refused_kg=v.refused,
                refusals=v.refusals,
                refusal_reasons=sorted(v.refusal_reasons),
                closing_balance_kg=v.closing_balance,
                forfeited_kg=v.forfeited,
                expired_kg=v.expired,
                overshoot_kg=v.overshoot,
            )
            for views in report.views.values()
            for v in views
        ]
        return emit(
            ShadowReportPublished,
            now,
            cause,
            derived_event_id(cause.event_id, ShadowReportPublished.TYPE),
            account_id=report.account_id,
            organisation_id=report.organisation_id,
            until=report.until,
            assigned_rule_set_id=report.assigned_rule_set_id,
            site_ids=list(report.site_ids),
            movements=report.movements,
            rows=rows,
        )

    def account_flagged(
        self,
        cause: CertificateChanged,
        account_id: str,
        frozen: bool,
        certificate: Certificate,
        now: datetime,
    ) -> Outgoing:
        kind = AccountFrozen if frozen else AccountThawed
        why = f"certificate {certificate.certificate_number} is {certificate.status.value}" + (
            f": {certificate.status_reason}" if certificate.status_reason else ""
        )
        return emit(
            kind,
            now,
            cause,
            derived_event_id(cause.event_id, kind.TYPE, account_id),
            account_id=account_id,
            certificate_id=certificate.certificate_id,
            reason=why[:MESSAGE_MAX],
        )

    def command_conflict(self, command: Envelope, now: datetime) -> Outgoing:
        return rejection(
            command, [Reason(code=LedgerReason.EVENT_ID_CONFLICT, message=CONFLICT)], now
        )

    def movement_conflict(self, movement: Envelope, now: datetime) -> Outgoing:
        m: Any = movement
        return emit(
            MovementRefused,
            now,
            m,
            derived_event_id(m.event_id, MovementRefused.TYPE, "conflict"),
            account_id=site_account_id(m.site_id),
            movement_id=m.movement_id,
            site_id=m.site_id,
            reasons=[Reason(code=LedgerReason.EVENT_ID_CONFLICT, message=CONFLICT)],
        )


def alert(outcome: done.AlertDue, cause: Envelope | None, now: datetime) -> Outgoing:
    return emit(
        CertificationBodyAlerted,
        now,
        cause,
        derived_event_id(
            f"{outcome.account_id}|{outcome.kind}|{outcome.period_id}|{outcome.movement_id}",
            "alerted",
        ),
        account_id=outcome.account_id,
        organisation_id=outcome.organisation_id,
        alert_kind=AlertKind(outcome.kind),
        period_id=outcome.period_id,
        mass_kg=outcome.mass,
        site_id=outcome.site_id,
        movement_id=outcome.movement_id,
        message=outcome.message[:MESSAGE_MAX],
    )


def reply(
    outcome: done.Outcome | claims_mass.Outcome, cause: Envelope, now: datetime, release_reason: str
) -> Outgoing:
    """The answer to the command or movement that caused `outcome`."""
    if isinstance(outcome, done.DesignationDenied):
        return emit(
            DesignationRefused,
            now,
            cause,
            derived_event_id(cause.event_id, DesignationRefused.TYPE),
            account_id=outcome.account_id,
            site_id=outcome.site_id,
            organisation_id=outcome.organisation_id,
            movement_id=outcome.movement_id,
            shipment_reference=outcome.shipment_reference,
            requested_coc_kg=outcome.requested,
            available_coc_kg=outcome.available,
            rule_set_id=outcome.rule_set_id,
            rule_set_version=outcome.rule_set_version,
            reasons=outcome.reasons,
        )
    if isinstance(outcome, done.MovementDenied):
        return emit(
            MovementRefused,
            now,
            cause,
            derived_event_id(cause.event_id, MovementRefused.TYPE),
            account_id=outcome.account_id,
            movement_id=outcome.movement_id,
            site_id=outcome.site_id,
            reasons=outcome.reasons,
        )
    if isinstance(outcome, done.Granted):
        a = outcome.allocation
        return emit(
            AllocationGranted,
            now,
            cause,
            derived_event_id(cause.event_id, AllocationGranted.TYPE),
            claim_id=a.claim_id,
            owner_organisation_id=a.owner,
            mass_kg=a.mass,
            account_ids=sorted(a.reservations),
            documents=a.documents,
            recycled_content_share=a.recycled_content_share,
            recycled_pre_consumer_share=a.recycled_pre_consumer_share,
            recycled_post_consumer_share=a.recycled_post_consumer_share,
            carbon_footprint_kg_co2e_per_kg=a.carbon_footprint,
        )
    if isinstance(outcome, done.AllocationDenied):
        return emit(
            AllocationRefused,
            now,
            cause,
            derived_event_id(cause.event_id, AllocationRefused.TYPE),
            claim_id=outcome.claim_id,
            owner_organisation_id=outcome.owner,
            requested_kg=outcome.requested,
            available_kg=outcome.available,
            reasons=outcome.reasons,
            held_by_claim_ids=list(outcome.held_by),
        )
    if isinstance(outcome, done.Released):
        return emit(
            AllocationReleased,
            now,
            cause,
            derived_event_id(cause.event_id, AllocationReleased.TYPE),
            claim_id=outcome.claim_id,
            owner_organisation_id=outcome.owner,
            mass_kg=outcome.mass,
            reason=release_reason,
        )
    if isinstance(outcome, claims_mass.Debited):
        a = outcome.allocation
        return emit(
            ClaimMassDebited,
            now,
            cause,
            derived_event_id(cause.event_id, ClaimMassDebited.TYPE),
            claim_id=a.claim_id,
            owner_organisation_id=a.owner,
            mass_kg=a.mass,
            account_ids=sorted(a.debit_entries),
            entry_ids=[a.debit_entries[k] for k in sorted(a.debit_entries)],
        )
    if isinstance(outcome, claims_mass.Returned):
        return emit(
            ClaimMassReturned,
            now,
            cause,
            derived_event_id(cause.event_id, ClaimMassReturned.TYPE),
            claim_id=outcome.claim_id,
            owner_organisation_id=outcome.owner,
            mass_kg=outcome.mass,
            debited_kg=outcome.debited,
            used_kg=outcome.used,
            entry_ids=list(outcome.entry_ids),
            reason=release_reason,
        )
    if isinstance(outcome, done.CommandDenied):
        return rejection(cause, outcome.reasons, now)
    raise TypeError(f"no message for {type(outcome).__name__}")


def rejection(cause: Envelope, reasons: list[Reason], now: datetime) -> Outgoing:
    return emit(
        LedgerCommandRejected,
        now,
        cause,
        derived_event_id(cause.event_id, LedgerCommandRejected.TYPE),
        rejected_event_id=cause.event_id,
        rejected_event_type=getattr(cause, "type", "unknown"),
        reasons=reasons,
    )
