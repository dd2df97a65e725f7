"""Which accounts a change of certificates freezes or thaws: an account whose covering CoC
certificate lapsed (suspended, withdrawn, expired) is frozen until a current one covers it again
(`../shared/domain.md`, Certification: "what depends on a certificate (credits, CoC Documents,
claims) must react when it changes"; freezing the account is this service's reaction)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from contracts.registry import Certificate
from services.accounting.domain import certification, scope
from services.accounting.domain.rules import Level, RuleSet


@dataclass(frozen=True)
class AccountState:
    account_id: str
    frozen: bool
    certificate: Certificate | None
    """The certificate that decides it (None: no certificate names the account's scope)."""


def account_states(
    rules: RuleSet, certificates: Iterable[Certificate], organisation_id: str, today: date
) -> list[AccountState]:
    """Per account of the organisation its certificates name: frozen or not. Site accounts follow
    the site's best certificate; a scope's pooled account follows its chain's newest certificate."""
    mine = certification.coc_certificates(certificates, organisation_id)
    states: list[AccountState] = []
    if rules.level is Level.SITE:
        for site_id in sorted({s for c in mine for s in c.scope.site_ids}):
            covered = certification.site_coverage(mine, organisation_id, site_id, today)
            states.append(
                AccountState(
                    rules.account_id(organisation_id, site_id, None),
                    covered.coverage is certification.Coverage.LAPSED,
                    covered.certificate,
                )
            )
        return states
    chains: dict[str, list[Certificate]] = {}
    for certificate in mine:
        chains.setdefault(scope.scope_id(certificate, mine), []).append(certificate)
    for scope_id, chain in sorted(chains.items()):
        covered = certification.group_coverage(chain, organisation_id, today)
        states.append(
            AccountState(
                rules.account_id(organisation_id, "", scope_id),
                covered.coverage is certification.Coverage.LAPSED,
                covered.certificate,
            )
        )
    return states
