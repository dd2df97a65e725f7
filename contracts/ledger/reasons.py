"""The reason codes accounting sends on `ledger.events.v1` (in `Reason.code` of its refusals and
rejections): one class, so a reader and `tests/unit/test_reason_codes.py` find every code in one place.
"""

from __future__ import annotations


class LedgerReason:
    """Reason codes accounting uses on `ledger.events.v1`."""

    INSUFFICIENT_CREDITS = "insufficient_credits"
    PERCENTAGE_RULE = "percentage_rule_exceeded"
    NO_COC_INPUT_IN_PERIOD = "no_coc_input_in_period"
    ACCOUNT_FROZEN = "account_frozen"
    NOT_CERTIFIED = "site_not_coc_certified"
    PS_NOT_CERTIFIED = "site_not_ps_certified"
    PS_LAPSED = "ps_certificate_lapsed"
    UNKNOWN_RULE_SET = "unknown_rule_set"
    UNKNOWN_ALLOCATION = "unknown_allocation"
    ALLOCATION_CONFLICT = "allocation_conflict"
    """No longer sent: allocations are per owner and claim id, so another owner's claim never conflicts."""
    UNKNOWN_ACCOUNT = "unknown_account"
    NOT_AUTHORISED = "not_authorised"
    REVERSAL_WOULD_OVERDRAW = "reversal_would_overdraw"
    LOT_ALLOCATED = "lot_allocated_to_claim"
    MASS_ALREADY_CLAIMED = "mass_already_claimed"
    """The owner's CoC mass is held by other claims (the reason names them)."""
    CLAIM_MASS_SPENT = "claim_mass_spent"
    """A release of an approved claim's mass: it was spent (debited), only its unused part may return."""
    ALLOCATION_NOT_DEBITED = "allocation_not_debited"
    """A return for a claim whose mass was never debited (nothing was spent, so nothing returns)."""
    RETURN_EXCEEDS_UNUSED = "return_exceeds_unused"
    """A return larger than the debited mass not yet returned."""
    DEBIT_MISMATCH = "debit_mismatch"
    """A debit whose mass is not the mass reserved for the claim."""
    EVENT_ID_CONFLICT = "event_id_conflict"
