from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from contracts.registry import MembershipClass
from libs.settings import ServiceSettings
from services.certificates.domain.rules import Rules


class Settings(ServiceSettings):
    """Settings of the certificates service; every variable is `CERTIFICATES_<FIELD>` (connection
    settings also unprefixed)."""

    model_config = SettingsConfigDict(env_prefix="CERTIFICATES_", extra="ignore")

    service_name: str = "certificates"
    database: str = "asi_certificates"
    signing_key_pem: SecretStr | None = Field(
        default=None, description="Ed25519 private key (PKCS#8 PEM) that signs certificates."
    )
    signing_key_seed: SecretStr | None = Field(
        default=None,
        description="Or its 32-byte seed (hex or base64url). Neither: one key is generated once "
        "and kept in this service's database, so every instance signs with the same key.",
    )
    full_validity_years: int = Field(default=3, ge=1, description="Validity of a full certificate.")
    provisional_validity_years: int = Field(
        default=1, ge=1, description="Validity of a provisional certificate."
    )
    max_major_ncs: int = Field(
        default=3, ge=0, description="More Major NCs than this in one audit: no certificate."
    )
    certify_within_years: int = Field(
        default=2, ge=1, description="Years after joining to hold a PS certificate."
    )
    must_certify: list[MembershipClass] = Field(
        default=[MembershipClass.PRODUCTION_AND_TRANSFORMATION, MembershipClass.INDUSTRIAL_USERS],
        description="Membership classes that must certify against the PS.",
    )
    cap_due_months: int = Field(
        default=1,
        ge=1,
        description="Months after the on-site audit to submit the Corrective Action Plan.",
    )
    major_close_within_months: int = Field(
        default=12,
        ge=1,
        description="A Major's CAP due date at most this many months after it was raised (verify).",
    )
    surveillance_due_months: int = Field(
        default=24,
        ge=1,
        description="Surveillance due this many months after certification or the last one "
        "that counted (verify).",
    )
    surveillance_window_months: int = Field(
        default=12,
        ge=0,
        description="A surveillance audit counts when completed at most this many months before "
        "it is due (verify).",
    )
    surveillance_grace_days: int = Field(
        default=60,
        ge=0,
        description="Days after a missed surveillance before the certificate is suspended "
        "(verify).",
    )
    upgrade_from_original_date: bool = Field(
        default=True,
        description="Provisional upgraded to full: valid from the original certification date "
        "(else from the last Major's closure) (verify).",
    )
    certificate_number_prefix: str = Field(
        default="ASI", pattern=r"^[A-Z]{2,10}$", description="Number prefix."
    )
    clock_batch: int = Field(
        default=200, ge=1, description="Certificates or members one clock tick handles at most."
    )

    def rules(self) -> Rules:
        return Rules(
            full_validity_years=self.full_validity_years,
            provisional_validity_years=self.provisional_validity_years,
            max_major_ncs=self.max_major_ncs,
            certify_within_years=self.certify_within_years,
            must_certify=frozenset(self.must_certify),
            number_prefix=self.certificate_number_prefix,
            cap_due_months=self.cap_due_months,
            major_close_within_months=self.major_close_within_months,
            surveillance_due_months=self.surveillance_due_months,
            surveillance_window_months=self.surveillance_window_months,
            surveillance_grace_days=self.surveillance_grace_days,
            upgrade_from_original_date=self.upgrade_from_original_date,
        )
