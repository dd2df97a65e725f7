"""Who may do what: the gateway's security boundary, as plain rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from contracts.common import Actor, Role


class AccessDenied(Exception):
    """The caller may not do this; `status` is the HTTP status to answer with."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class Principal:
    """The organisation and role a credential stands for."""

    organisation_id: str
    role: Role
    key_id: str

    @property
    def actor(self) -> Actor:
        return Actor(organisation_id=self.organisation_id, role=self.role)

    @property
    def is_secretariat(self) -> bool:
        return self.role is Role.SECRETARIAT


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise AccessDenied("role_not_allowed", f"this needs a key of role {allowed}; yours is {principal.role.value}")


def acting_as(principal: Principal, claimed: str | None, field: str) -> str:
    """The organisation a message is sent for: always the caller's; naming another one is refused."""
    if claimed is not None and claimed != principal.organisation_id:
        raise AccessDenied("not_your_organisation", f"`{field}` must be your own organisation ({principal.organisation_id})")
    return principal.organisation_id


def require_own_site(principal: Principal, site_id: str, site_owners: Mapping[str, str]) -> None:
    """A producer submits only for sites its organisation owns (unknown sites are refused the same way)."""
    if principal.is_secretariat:
        return
    if site_owners.get(site_id) != principal.organisation_id:
        raise AccessDenied("site_not_yours", f"site {site_id!r} is not a registered site of {principal.organisation_id}")


def account_organisation(account_id: str, site_owners: Mapping[str, str]) -> str | None:
    """The organisation owning a ledger account (`site:<id>`, `group:<org>` or `group:<org>/<scope>`), if known."""
    kind, _, rest = account_id.partition(":")
    if kind == "group":
        return rest.partition("/")[0] or None
    if kind == "site":
        return site_owners.get(rest)
    return None


def may_read_account(principal: Principal, account_id: str, site_owners: Mapping[str, str]) -> bool:
    return principal.is_secretariat or account_organisation(account_id, site_owners) == principal.organisation_id


def may_read_claim(principal: Principal, claimant_organisation_id: str) -> bool:
    return principal.is_secretariat or claimant_organisation_id == principal.organisation_id


def may_read_document(principal: Principal, issuer: str, recipient: str) -> bool:
    return principal.is_secretariat or principal.organisation_id in (issuer, recipient)
