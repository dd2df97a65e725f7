"""How a claim is identified: its key in the service's state and its name beside other owners'
claims."""

from __future__ import annotations


def claim_key(claimant: str, claim_id: str) -> str:
    """A claim id is the claimant's own (issue 23): two owners may use the same one. `|` is not
    allowed in an identifier, so the key is unambiguous."""
    return f"{claimant}|{claim_id}"


def claim_ref(claimant: str, claim_id: str) -> str:
    """A claim named where claims of several owners are listed (plausibility alerts)."""
    return f"{claimant}/{claim_id}"
