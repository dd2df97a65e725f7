"""A WBCSD PACT `ProductFootprint`: a product carbon footprint in the PACT Technical Specifications
for PCF Data Exchange, version 2.x (2.0 to 2.3; `specVersion`), with the PACT property names
(camelCase) on the wire.

Source: WBCSD PACT, Technical Specifications for PCF Data Exchange v2 (data model:
`ProductFootprint`, `CarbonFootprint`, `Assurance`, `DataQualityIndicators`), methodology
ISO 14067 / GHG Protocol Product Standard. The properties v2 requires are required here; the optional
ones we know are optional; nothing else is accepted (`extensions` carries data-model extensions).
PACT decimals are JSON strings and stay exact (`Decimal`); PACT numbers (percentages, DQRs) are
JSON numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

from contracts.common import REQUEST_INT, REQUEST_PLACES, REQUEST_POSITIVE_FRACTION

PACT_SPEC = "WBCSD PACT Technical Specifications for PCF Data Exchange v2"


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


PactTime = Annotated[AwareDatetime, AfterValidator(_utc)]
_AS_STRING = PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")
_SIGNED = r"^[+-]?\d+(\.\d+)?$"
_UNSIGNED = r"^[+]?\d+(\.\d+)?$"
_NON_POSITIVE = r"^(-\d+(\.\d+)?|0+(\.0+)?)$"
# What a request may send, as the validator checks it (at most 19 integer and 9 decimal digits, and the
# bound): the gateway's OpenAPI document uses it as the pattern (`x-request-pattern`, as contracts/common.py
# does), so that a value the schema calls valid is never refused; the topic's schema keeps `pattern`.
_REQUEST = {  # as contracts/common.py's, with the sign PACT allows
    _SIGNED: rf"^[+-]?{REQUEST_INT}{REQUEST_PLACES}$",
    _UNSIGNED: rf"^[+]?{REQUEST_INT}{REQUEST_PLACES}$",
    _NON_POSITIVE: rf"^(-{REQUEST_INT}{REQUEST_PLACES}|0{{1,19}}(\.0{{1,9}})?)$",
    "positive": rf"^[+]?(0*[1-9][0-9]{{0,18}}{REQUEST_PLACES}|{REQUEST_POSITIVE_FRACTION})$",
}


def _schema(pattern: str, request: str | None = None) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": pattern, "x-request-pattern": _REQUEST[request or pattern]})


_EXACT = {"allow_inf_nan": False, "max_digits": 28, "decimal_places": 9}


def _refuse_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError('a PACT decimal is a JSON string such as "4.2", never a binary float')
    return value


_NO_FLOAT = BeforeValidator(_refuse_float)
PactDecimal = Annotated[
    Decimal, Field(**_EXACT), _NO_FLOAT, _AS_STRING, _schema(_SIGNED)
]
"""A PACT `Decimal`: a JSON string, kept exact."""
PositiveDecimal = Annotated[
    Decimal, Field(gt=0, **_EXACT), _NO_FLOAT, _AS_STRING, _schema(_UNSIGNED, "positive")
]
NonNegativeDecimal = Annotated[
    Decimal, Field(ge=0, **_EXACT), _NO_FLOAT, _AS_STRING, _schema(_UNSIGNED)
]
NonPositiveDecimal = Annotated[
    Decimal, Field(le=0, **_EXACT), _NO_FLOAT, _AS_STRING, _schema(_NON_POSITIVE)
]
Urn = Annotated[str, Field(min_length=5, max_length=500, pattern=r"^[uU][rR][nN]:")]
NonEmpty = Annotated[str, Field(min_length=1, max_length=2000)]


class PactModel(BaseModel):
    """PACT property names (camelCase) on the wire, snake_case in Python; immutable, strict."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=True,
        serialize_by_alias=True,
    )


class FootprintStatus(StrEnum):
    ACTIVE = "Active"
    DEPRECATED = "Deprecated"


class DeclaredUnit(StrEnum):
    LITER = "liter"
    KILOGRAM = "kilogram"
    CUBIC_METER = "cubic meter"
    KILOWATT_HOUR = "kilowatt hour"
    MEGAJOULE = "megajoule"
    TON_KILOMETER = "ton kilometer"
    SQUARE_METER = "square meter"


class CrossSectoralStandard(StrEnum):
    GHG_PROTOCOL = "GHG Protocol Product standard"
    ISO_14067 = "ISO Standard 14067"
    ISO_14044 = "ISO Standard 14044"


class AssuranceCoverage(StrEnum):
    CORPORATE_LEVEL = "corporate level"
    PRODUCT_LINE = "product line"
    PCF_SYSTEM = "PCF system"
    PRODUCT_LEVEL = "product level"


class AssuranceLevel(StrEnum):
    LIMITED = "limited"
    REASONABLE = "reasonable"


class AssuranceBoundary(StrEnum):
    GATE_TO_GATE = "Gate-to-Gate"
    CRADLE_TO_GATE = "Cradle-to-Gate"


class Assurance(PactModel):
    """Third-party assurance of the PCF (PACT v2.1+ `Assurance`)."""

    assurance: bool = Field(description="Whether the PCF was assured.")
    provider_name: NonEmpty = Field(description="Name of the assurance provider (`providerName`).")
    coverage: AssuranceCoverage | None = Field(default=None, description="Granularity of the assured data.")
    level: AssuranceLevel | None = Field(default=None, description="limited or reasonable.")
    boundary: AssuranceBoundary | None = Field(default=None, description="Gate-to-Gate or Cradle-to-Gate.")
    completed_at: PactTime | None = Field(default=None, description="When the assurance was completed (`completedAt`).")
    standard_name: NonEmpty | None = Field(default=None, description="Assurance standard (e.g. ISO 14064-3).")
    comments: NonEmpty | None = Field(default=None, description="Additional comments.")


class DataQualityIndicators(PactModel):
    """PACT `DataQualityIndicators` (DQRs from 1, good, to 3)."""

    coverage_percent: float = Field(ge=0, le=100, description="Share of the PCF covered by the DQRs, percent.")
    technological_d_q_r: float = Field(ge=1, le=3, alias="technologicalDQR", description="Technological DQR.")
    temporal_d_q_r: float = Field(ge=1, le=3, alias="temporalDQR", description="Temporal DQR.")
    geographical_d_q_r: float = Field(ge=1, le=3, alias="geographicalDQR", description="Geographical DQR.")
    completeness_d_q_r: float = Field(ge=1, le=3, alias="completenessDQR", description="Completeness DQR.")
    reliability_d_q_r: float = Field(ge=1, le=3, alias="reliabilityDQR", description="Reliability DQR.")


class ProductOrSectorSpecificRule(PactModel):
    operator: Literal["PEF", "EPD International", "Other"] = Field(description="Operator of the rules.")
    rule_names: list[NonEmpty] = Field(min_length=1, description="Names of the rules applied.")
    other_operator_name: NonEmpty | None = Field(default=None, description="The operator, when Other.")


class EmissionFactorDataSource(PactModel):
    name: NonEmpty = Field(description="Database name.")
    version: NonEmpty = Field(description="Database version.")


class CarbonFootprint(PactModel):
    """PACT `CarbonFootprint`: the PCF per declared unit, kg CO2e, with its method and scope."""

    declared_unit: DeclaredUnit = Field(description="Unit the PCF is declared per.")
    unitary_product_amount: PositiveDecimal = Field(description="Declared units contained in the product.")
    p_cf_excluding_biogenic: NonNegativeDecimal = Field(
        alias="pCfExcludingBiogenic", description="PCF excluding biogenic CO2, kg CO2e per declared unit.")
    p_cf_including_biogenic: PactDecimal | None = Field(
        default=None, alias="pCfIncludingBiogenic", description="PCF including biogenic CO2, kg CO2e per declared unit.")
    fossil_ghg_emissions: NonNegativeDecimal = Field(description="Fossil GHG emissions, kg CO2e per declared unit.")
    fossil_carbon_content: NonNegativeDecimal = Field(description="Fossil carbon content, kg C per declared unit.")
    biogenic_carbon_content: NonNegativeDecimal = Field(description="Biogenic carbon content, kg C per declared unit.")
    d_luc_ghg_emissions: NonNegativeDecimal | None = Field(default=None, description="Direct land use change emissions.")
    land_management_ghg_emissions: PactDecimal | None = Field(default=None, description="Land management emissions.")
    other_biogenic_ghg_emissions: NonNegativeDecimal | None = Field(default=None, description="Other biogenic emissions.")
    i_luc_ghg_emissions: NonNegativeDecimal | None = Field(default=None, description="Indirect land use change emissions.")
    biogenic_carbon_withdrawal: NonPositiveDecimal | None = Field(default=None, description="Biogenic carbon withdrawal.")
    aircraft_ghg_emissions: NonNegativeDecimal | None = Field(default=None, description="Aircraft emissions.")
    characterization_factors: Literal["AR5", "AR6"] = Field(description="IPCC characterization factors.")
    ipcc_characterization_factors_sources: list[Annotated[str, Field(pattern=r"^AR\d+$")]] = Field(
        min_length=1, description="IPCC assessment reports of the factors used.")
    cross_sectoral_standards_used: list[CrossSectoralStandard] = Field(
        min_length=1, description="Cross-sectoral standards applied (ISO 14067, GHG Protocol, ISO 14044).")
    product_or_sector_specific_rules: list[ProductOrSectorSpecificRule] | None = Field(
        default=None, description="Product or sector specific rules applied.")
    biogenic_accounting_methodology: Literal["PEF", "ISO", "GHGP", "Quantis"] | None = Field(
        default=None, description="Biogenic accounting methodology.")
    boundary_processes_description: str = Field(max_length=4000, description="Processes within the boundary.")
    reference_period_start: PactTime = Field(description="Start of the reference period (inclusive).")
    reference_period_end: PactTime = Field(description="End of the reference period (exclusive).")
    geography_country_subdivision: Annotated[str, Field(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$")] | None = Field(
        default=None, description="ISO 3166-2 subdivision.")
    geography_country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = Field(
        default=None, description="ISO 3166-1 alpha-2 country.")
    geography_region_or_subregion: NonEmpty | None = Field(default=None, description="UN M49 region or subregion.")
    secondary_emission_factor_sources: list[EmissionFactorDataSource] | None = Field(
        default=None, description="Secondary emission factor databases.")
    exempted_emissions_percent: float = Field(ge=0, le=5, description="Emissions exempted, percent (0 to 5).")
    exempted_emissions_description: str = Field(max_length=4000, description="Why they were exempted.")
    packaging_emissions_included: bool = Field(description="Whether packaging emissions are included.")
    packaging_ghg_emissions: NonNegativeDecimal | None = Field(default=None, description="Packaging emissions.")
    allocation_rules_description: NonEmpty | None = Field(default=None, description="Allocation rules applied.")
    uncertainty_assessment_description: NonEmpty | None = Field(default=None, description="Uncertainty assessment.")
    primary_data_share: float | None = Field(default=None, ge=0, le=100, description="Primary data share, percent.")
    dqi: DataQualityIndicators | None = Field(default=None, description="Data quality indicators.")
    assurance: Assurance | None = Field(default=None, description="Third-party assurance, if any.")
    product_mass_per_declared_unit: NonNegativeDecimal | None = Field(
        default=None, description="Product mass per declared unit, kg.")


class DataModelExtension(PactModel):
    spec_version: NonEmpty = Field(description="Extension spec version.")
    data_schema: NonEmpty = Field(description="URL of the extension's schema.")
    documentation: NonEmpty | None = Field(default=None, description="URL of its documentation.")
    data: dict[str, Any] = Field(description="The extension's data.")


class ProductFootprint(PactModel):
    """PACT `ProductFootprint`: who declares the footprint of which product, and the footprint."""

    id: UUID = Field(description="The footprint's id (UUID), stable across versions.")
    spec_version: Annotated[str, Field(pattern=r"^2\.\d+\.\d+(-\d{8})?$")] = Field(
        description="PACT Tech Specs version the document follows (2.x).")
    preceding_pf_ids: list[UUID] | None = Field(default=None, description="Footprints this one supersedes.")
    version: int = Field(ge=0, le=2**31 - 1, description="Version of this footprint (0, 1, ...).")
    created: PactTime = Field(description="When it was created.")
    updated: PactTime | None = Field(default=None, description="When it was last updated.")
    status: FootprintStatus = Field(description="Active or Deprecated.")
    status_comment: NonEmpty | None = Field(default=None, description="Why the status.")
    validity_period_start: PactTime | None = Field(default=None, description="Start of its validity.")
    validity_period_end: PactTime | None = Field(default=None, description="End of its validity.")
    company_name: NonEmpty = Field(description="Company declaring the footprint.")
    company_ids: list[Urn] = Field(min_length=1, description="The company's ids (URNs).")
    product_description: str = Field(max_length=4000, description="Product description.")
    product_ids: list[Urn] = Field(min_length=1, description="Product ids (URNs, e.g. urn:gtin:...).")
    product_category_cpc: NonEmpty = Field(description="UN CPC code of the product category.")
    product_name_company: NonEmpty = Field(description="The company's trade name of the product.")
    comment: str = Field(max_length=4000, description="Additional information.")
    pcf: CarbonFootprint = Field(description="The carbon footprint.")
    extensions: list[DataModelExtension] | None = Field(default=None, description="Data model extensions.")

    def document(self) -> dict[str, Any]:
        """The PACT JSON document (camelCase, decimals as strings, absent optional properties left out)."""
        return self.model_dump(mode="json", exclude_none=True)


def default_validity_end(footprint: ProductFootprint, years: int) -> date:
    """The end of a footprint's validity when it states none: `years` after the end of its reference
    period (PACT v2, `validityPeriodEnd`; 3 years in the spec, verify)."""
    end = footprint.pcf.reference_period_end - timedelta(microseconds=1)  # the period end is exclusive
    try:
        return end.date().replace(year=end.year + years)
    except ValueError:  # 29 February
        return end.date().replace(year=end.year + years, day=28)
