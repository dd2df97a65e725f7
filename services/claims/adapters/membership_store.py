"""Members' standing from `certificates.events.v1`, kept beside the member in the registry
projection (`standing:<org>`): flagged at risk by `MemberCertificationOverdue`, cleared by an
extension or a current PS certificate; `forfeited` by `MembershipForfeited`, cleared when the member
registers again with a later join date."""

from __future__ import annotations

from collections.abc import Sequence

from contracts.certificates import (
    CertificateChanged,
    CertificationDeadlineExtended,
    MemberCertificationOverdue,
    MemberRegistered,
    MembershipForfeited,
)
from contracts.common import Standard
from contracts.registry import CURRENT_STATUSES
from libs.messaging import BatchHandler, Incoming, Outgoing, Tx
from services.claims.adapters.store import REGISTRY
from services.claims.domain.membership import AT_RISK, FORFEITED


def recording_standing(handler: BatchHandler) -> BatchHandler:
    """The topic's handler, after recording what its batch says about members' standing."""

    async def handle(batch: Sequence[Incoming], tx: Tx) -> Sequence[Outgoing]:
        for item in batch:
            await record_standing(item.message, tx)
        return await handler(batch, tx)

    return handle


async def record_standing(message: object, tx: Tx) -> None:
    collection = tx.db[REGISTRY]
    if isinstance(message, MemberCertificationOverdue):
        key = f"standing:{message.organisation_id}"
        current = await collection.find_one({"_id": key}, {"standing": 1}, session=tx.session)
        if current is None or current["standing"] != FORFEITED:
            await collection.replace_one({"_id": key}, {"kind": "standing", "organisation_id": message.organisation_id,
                                                        "standing": AT_RISK, "since": message.occurred_at},
                                         upsert=True, session=tx.session)
    elif isinstance(message, MembershipForfeited):
        await collection.replace_one({"_id": f"standing:{message.organisation_id}"},
                                     {"kind": "standing", "organisation_id": message.organisation_id,
                                      "standing": FORFEITED, "since": message.occurred_at,
                                      "forfeited_on": message.forfeited_on.isoformat()},
                                     upsert=True, session=tx.session)
    elif isinstance(message, CertificationDeadlineExtended):
        await collection.delete_one({"_id": f"standing:{message.organisation_id}", "standing": AT_RISK},
                                    session=tx.session)
    elif isinstance(message, CertificateChanged):
        c = message.certificate
        if c.standard is Standard.PERFORMANCE_STANDARD and c.status in CURRENT_STATUSES:
            await collection.delete_one({"_id": f"standing:{c.organisation_id}", "standing": AT_RISK},
                                        session=tx.session)
    elif isinstance(message, MemberRegistered):
        await collection.delete_one({"_id": f"standing:{message.member.organisation_id}", "standing": FORFEITED,
                                     "forfeited_on": {"$lt": message.member.joined_on.isoformat()}},
                                    session=tx.session)
