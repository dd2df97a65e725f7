"""Who may do what (`domain/access.py`, issue 24): each refusal's code, status and message, and both
sides of every read rule."""

from __future__ import annotations

import pytest

from contracts.common import Role
from services.gateway.domain import access
from services.gateway.domain.access import AccessDenied, Principal

A = Principal("org-a", Role.PRODUCER, "k1")
BRAND = Principal("org-b", Role.BRAND_OWNER, "k2")
ADMIN = Principal("asi", Role.SECRETARIAT, "bootstrap")
OWNERS = {"site-a": "org-a", "site-b": "org-b", "plant:ulm": "org-a"}


def denied(call, *args) -> tuple[str, str, int, str]:
    with pytest.raises(AccessDenied) as refused:
        call(*args)
    return refused.value.code, refused.value.message, refused.value.status, str(refused.value)


def test_a_key_of_another_role_is_refused_naming_the_roles_allowed_and_its_own():
    message = "this needs a key of role brand_owner, secretariat; yours is producer"
    assert denied(access.require_role, A, Role.BRAND_OWNER, Role.SECRETARIAT) == (
        "role_not_allowed",
        message,
        403,
        message,
    )
    access.require_role(BRAND, Role.BRAND_OWNER, Role.SECRETARIAT)


def test_naming_another_organisation_is_refused_on_the_field_that_names_it():
    message = "`owner_organisation_id` must be your own organisation (org-a)"
    assert denied(access.acting_as, A, "org-b", "owner_organisation_id") == (
        "not_your_organisation",
        message,
        403,
        message,
    )


def test_a_site_of_another_organisation_is_refused_naming_the_site_and_the_caller():
    message = "site 'site-b' is not a registered site of org-a"
    assert denied(access.require_own_site, A, "site-b", OWNERS) == (
        "site_not_yours",
        message,
        403,
        message,
    )


def test_a_claim_is_read_by_its_claimant_and_the_secretariat_only():
    assert access.may_read_claim(BRAND, "org-b")
    assert not access.may_read_claim(BRAND, "org-a")
    assert access.may_read_claim(ADMIN, "org-b")
    assert not access.may_read_claim(A, "org-b")


def test_a_site_account_whose_site_id_holds_a_colon_belongs_to_the_sites_owner():
    # Identifiers may contain ":": only the first one separates the account's kind.
    assert access.account_organisation("site:plant:ulm", OWNERS) == "org-a"
    assert access.may_read_account(A, "site:plant:ulm", OWNERS)
    assert not access.may_read_account(BRAND, "site:plant:ulm", OWNERS)
    assert access.account_organisation("group:org-a/cert:1", OWNERS) == "org-a"
