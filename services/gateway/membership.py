"""Members' certification standing as `certificates.events.v1` tells it, kept on the gateway's member
record (`certification`): at risk (`MemberCertificationOverdue`), extended
(`CertificationDeadlineExtended`), forfeited (`MembershipForfeited`), or certified again (a current
Performance Standard certificate clears "at risk")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contracts import certificates as cert
from contracts.common import Standard
from contracts.registry import CURRENT_STATUSES
from libs.messaging import BatchHandler, Incoming, Outgoing, Tx
from services.gateway.adapters import store


def recording_standing(handler: BatchHandler) -> BatchHandler:
    """The topic's handler, then recording what its batch says about members' standing."""

    async def handle(batch: Sequence[Incoming], tx: Tx) -> Sequence[Outgoing]:
        out = await handler(batch, tx)  # first: it creates the member records this one updates
        for item in batch:
            await _record(item.message, tx)
        return out

    return handle


async def _set(tx: Tx, organisation_id: str, standing: dict[str, Any], unless: str | None = None) -> None:
    query: dict[str, Any] = {"_id": organisation_id}
    if unless:
        query["certification.status"] = {"$ne": unless}
    await tx.db[store.MEMBERS].update_one(query, {"$set": {"certification": standing}}, session=tx.session)


async def _record(m: object, tx: Tx) -> None:
    if isinstance(m, cert.MemberCertificationOverdue):
        await _set(tx, m.organisation_id, {"status": "at_risk", "since": m.occurred_at, "reason": m.reason},
                   unless="forfeited")
    elif isinstance(m, cert.CertificationDeadlineExtended):
        await _set(tx, m.organisation_id, {"status": "extended", "until": m.until.isoformat(), "reason": m.reason},
                   unless="forfeited")
    elif isinstance(m, cert.MembershipForfeited):
        await _set(tx, m.organisation_id, {"status": "forfeited", "since": m.occurred_at, "reason": m.reason})
    elif isinstance(m, cert.CertificateChanged):
        c = m.certificate
        if c.standard is Standard.PERFORMANCE_STANDARD and c.status in CURRENT_STATUSES:
            await tx.db[store.MEMBERS].update_one(
                {"_id": c.organisation_id, "certification.status": "at_risk"},
                {"$set": {"certification": {"status": "certified", "since": m.occurred_at}}}, session=tx.session)
