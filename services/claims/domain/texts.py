"""The secretariat's approved claim texts (issue 18 item 2): versioned templates per claim type and
language, and when a request using one may be approved without review.

Source: `../shared/domain.md` (beside the repository), Claims: "automatic checks prepare the
decision; the secretariat makes it, against texts it has approved". A request is approved
automatically only when it uses the **latest** version of a text the secretariat enabled for that
(`auto_approve`), of its claim type, and its wording is exactly that template filled with the
request's own certificate number and link. Anything else, free wording included, goes to review. The
phrase blacklist (`wording.py`) still runs first on every request: a text never bypasses it.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from contracts.claims import ClaimReason, ClaimRequested, ClaimTextPublished, ClaimType
from contracts.common import Reason

PLACEHOLDERS: frozenset[str] = frozenset({"certificate_number", "link"})
"""What a template may leave to the request: both come from the request's own fields, and both are
checked by the static checks (a quoted certificate number must be the claimant's and current)."""


@dataclass(frozen=True)
class ApprovedText:
    text_id: str
    version: int
    claim_type: ClaimType
    language: str
    template: str
    auto_approve: bool

    @classmethod
    def of(cls, message: ClaimTextPublished) -> ApprovedText:
        return cls(
            message.text_id,
            message.version,
            message.claim_type,
            message.language,
            message.template,
            message.auto_approve,
        )


def placeholders(template: str) -> set[str] | None:
    """Names the template uses; None when it is not a well-formed template."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError:
        return None


def template_reasons(text: ApprovedText) -> list[Reason]:
    names = placeholders(text.template)
    if names is None:
        return [
            Reason(
                code=ClaimReason.INVALID_CLAIM_TEXT,
                field="template",
                message="the template is not well formed (unbalanced braces)",
            )
        ]
    unknown = sorted(names - PLACEHOLDERS)
    if unknown:
        return [
            Reason(
                code=ClaimReason.INVALID_CLAIM_TEXT,
                field="template",
                message=f"unknown placeholder(s) {', '.join(unknown)}; allowed: "
                f"{', '.join(sorted(PLACEHOLDERS))}",
            )
        ]
    return []


def filled(text: ApprovedText, request: ClaimRequested) -> str | None:
    """The template filled from the request; None when a placeholder it uses has no value there."""
    names = placeholders(text.template) or set()
    values = {"certificate_number": request.certificate_number, "link": request.link}
    if any(not values.get(n) for n in names):
        return None
    return text.template.format(**{n: values[n] for n in names})


def approved_without_review(request: ClaimRequested, latest: ApprovedText | None) -> bool:
    """True only for the latest, auto-approving version of the text the request names, of its claim
    type, with the wording exactly that template filled with the request's own values."""
    if (
        latest is None
        or request.text_id != latest.text_id
        or request.text_version != latest.version
    ):
        return False
    if (
        not latest.auto_approve
        or latest.claim_type is not request.claim_type
        or template_reasons(latest)
    ):
        return False
    return filled(latest, request) == request.wording
