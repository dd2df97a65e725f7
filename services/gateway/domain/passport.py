"""A UNTP Digital Product Passport (JSON-LD, data model 0.6.1) for a CoC Document (issue 21 item 3).

Everything in it comes from the books: the product and mass of the document, the recycled-content
share accounting computed from eligible scrap inputs, the issuing site's certificates with their
status on the document's date, and the upstream of the document (`domain/upstream.py`) as the
materials' provenance (level 1, one material per supplier) and a summary of every level (one source
per supplier; never the holder's per-account detail). No footprint: the platform holds no
assured (PACT) footprint yet, and a footprint a producer typed in is not used.

The passport is plain JSON, not yet a W3C VC 2.0 secured with a platform key (the gateway has no
signing key): what makes it checkable offline is the CoC Document inside it, with accounting's
compact JWS over it, verifiable with accounting's published key."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

UNTP_DPP_VERSION = "0.6.1"
CONTEXT = ["https://www.w3.org/ns/credentials/v2", f"https://test.uncefact.org/vocabulary/untp/dpp/{UNTP_DPP_VERSION}/"]
ASI = {"id": "https://aluminium-stewardship.org", "name": "Aluminium Stewardship Initiative"}
STANDARDS = {
    "chain_of_custody": ("ASI Chain of Custody Standard", "governance.transparency"),
    "performance_standard": ("ASI Performance Standard", "governance.ethics"),
}
"""The UNTP conformity topic each ASI standard's certificate is declared under (verify with ASI)."""
CURRENT = ("active", "provisional")


def _number(value: str | Decimal) -> float:
    """UNTP wants JSON numbers; the exact Decimal stays beside it as a string where it matters."""
    return float(Decimal(value))


def passport(base_url: str, issuer_did: str, record: dict[str, Any], view: dict[str, Any],
             certificates: list[dict[str, Any]], *, public: bool) -> dict[str, Any]:
    """The passport of a stored CoC Document (`record`: the gateway's `documents` record) with its
    upstream `view` (the public one for `public`: no masses then, names only of members that opted in)
    and the issuing site's `certificates` with their status on the document's date (public facts)."""
    d = record["document"]
    base = base_url.rstrip("/")
    doc_url = f"{base}/documents/{quote(d['document_id'], safe='')}"
    issuer = view["issuer"]
    product: dict[str, Any] = {
        "type": ["Product"], "id": doc_url, "name": f"{d['product_form']} ({d['material_category'].replace('_', ' ')})",
        "batchNumber": d["shipment_reference"], "productionDate": d["issued_on"],
    }
    if issuer.get("country"):
        product["countryOfProduction"] = issuer["country"]
    if issuer.get("name"):
        product["producedByParty"] = {"id": f"urn:asi:member:{quote(d['issuer_organisation_id'])}", "name": issuer["name"]}
    if not public:
        product["producedAtFacility"] = {"id": f"urn:asi:site:{quote(d['issuer_site_id'])}",
                                         "name": issuer.get("site_name") or d["issuer_site_id"]}
        product["dimensions"] = {"type": ["Dimension"],
                                 "weight": {"type": ["Measure"], "value": _number(d["coc_mass_kg"]), "unit": "KGM"}}
    subject: dict[str, Any] = {
        "type": ["ProductPassport"], "id": doc_url, "product": product, "granularityLevel": "batch",
        "conformityClaim": [_claim(base, c, d["issued_on"]) for c in certificates],
        "upstream": {"method": view["method"], "levels": view["levels"]},
    }
    if view["levels"]:
        subject["materialsProvenance"] = [
            {"type": ["Material"], "name": ", ".join(s["material_categories"]) or s["kind"],
             "massFraction": _number(s["share"]), "upstreamKind": s["kind"],
             **({"originCountry": s["sites"][0]["country"]} if s["sites"] and s["sites"][0].get("country") else {})}
            for s in view["levels"][0]["sources"]]
    if d.get("recycled_content_share") is not None:
        subject["circularityScorecard"] = {"type": ["CircularityPerformance"],
                                           "recycledContent": _number(d["recycled_content_share"]),
                                           "recycledContentExact": str(d["recycled_content_share"]),
                                           "recycledContentMethod": d.get("recycled_content_method")
                                           or "eligible scrap share of the period's CoC inputs (the books)"}
        split = {"recycledContentPreConsumer": d.get("recycled_pre_consumer_share"),
                 "recycledContentPostConsumer": d.get("recycled_post_consumer_share"),
                 "recycledContentPeriodStart": d.get("recycled_content_period_start"),
                 "recycledContentPeriodEnd": d.get("recycled_content_period_end")}
        subject["circularityScorecard"].update({k: str(v) for k, v in split.items() if v is not None})
    out: dict[str, Any] = {
        "@context": CONTEXT, "type": ["DigitalProductPassport", "VerifiableCredential"],
        "id": f"{doc_url}/passport.json" if public else f"{doc_url}/passport",
        "issuer": {"type": ["CredentialIssuer"], "id": issuer_did, "name": "ASI chain-of-custody platform"},
        "validFrom": f"{d['issued_on']}T00:00:00Z",
        "credentialSubject": subject,
    }
    if not public:
        out["cocDocument"] = {"document": d, "jws": record["signature"], "keyId": record["key_id"]}
    return out


def _claim(base: str, c: dict[str, Any], day: str) -> dict[str, Any]:
    name, topic = STANDARDS.get(c.get("standard") or "", STANDARDS["chain_of_custody"])
    status = c["status_on_document_date"]
    claim: dict[str, Any] = {
        "type": ["Claim", "Declaration"], "id": f"{base}/certificates/{quote(c['certificate_number'], safe='')}",
        "description": f"{name} certificate {c['certificate_number']}, {status.replace('_', ' ')} on {day}",
        "referenceStandard": {"type": ["Standard"], "name": name, "issuingParty": ASI},
        "assessmentDate": day, "conformityTopic": topic,
        "conformance": status in CURRENT,
    }
    return claim
