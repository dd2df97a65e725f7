from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from libs.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the gateway; every variable is `GATEWAY_<FIELD>` (connection settings also unprefixed)."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    service_name: str = "gateway"
    database: str = "asi_gateway"
    http_host: str = Field(default="127.0.0.1", description="Interface the HTTP server listens on.")
    http_port: int = Field(default=8080, ge=0, le=65535, description="HTTP port of the API and the public pages.")
    public_base_url: str = Field(
        default="http://127.0.0.1:8080", description="Public address of the pages, printed in QR codes and links.")
    passport_issuer_did: str = Field(
        default="did:web:127.0.0.1%3A8080",
        description="The W3C DID product passports name as their issuer: the did:web of the public host (verify).")
    bootstrap_admin_key: SecretStr | None = Field(
        default=None, description="A secretariat key accepted as-is (at least 32 characters): used to create the "
        "first real keys. Unset: no bootstrap key.")
    secretariat_organisation_id: str = Field(default="asi", description="Organisation id of the ASI secretariat.")
    max_request_bytes: int = Field(default=1_000_000, ge=1024, description="Largest request body accepted.")
    max_batch_items: int = Field(default=500, ge=1, le=10_000, description="Most events in one batch or EPCIS document.")
    rate_limit_per_minute: float = Field(default=1200, gt=0, description="Sustained requests per minute per key (or IP).")
    rate_limit_burst: int = Field(default=200, ge=1, description="Requests a key (or IP) may send at once.")
    rate_limit_exempt_organisations: list[str] = Field(
        default_factory=list, description="Organisations whose keys the rate limit does not apply to (tests, "
        "a schema fuzzer); empty in production.")
    max_json_depth: int = Field(default=32, ge=2, le=200, description="Deepest nesting of arrays and objects a "
                                "JSON body (or a pasted JWS) may have; checked before parsing.")
    verification_keys: list[dict[str, Any]] = Field(
        default_factory=list, description="Public JWKs (Ed25519, with kid) that signed certificates, CoC Documents "
        "and approvals are checked against, as a JSON list.")
    webhook_max_attempts: int = Field(default=8, ge=1, description="Attempts before a webhook delivery is given up.")
    webhook_backoff_base_s: float = Field(default=2.0, gt=0, description="First retry delay; doubles each attempt.")
    webhook_backoff_max_s: float = Field(default=3600.0, gt=0, description="Longest retry delay.")
    webhook_timeout_s: float = Field(default=5.0, gt=0, description="Timeout of one webhook call.")
    webhook_poll_interval_s: float = Field(default=0.5, gt=0, description="How often due deliveries are looked for.")
    webhook_allow_private_targets: bool = Field(
        default=False, description="Allow webhook URLs on loopback or private addresses (tests, local demos).")
    credential_signing_key: SecretStr | None = Field(
        default=None, description="Ed25519 seed (64 hex digits or base64url) that signs the verifiable credentials "
        "and status lists; unset: one is generated once and kept in the gateway's database.")
    credential_issuer_name: str = Field(default="Aluminium Stewardship Initiative platform",
                                        description="The `issuer.name` of the verifiable credentials.")
    untp_dcc_context: str = Field(
        default="https://test.uncefact.org/vocabulary/untp/dcc/0.5.0/",
        description="JSON-LD context of the UNTP Digital Conformity Credential a certificate's credential "
        "follows (verify: UNTP is a draft; set the version your verifiers expect).")
