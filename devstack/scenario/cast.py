"""The scenario's cast: the secretariat, the certification body, and the chain's seven members with
their sites, activities and conversion factors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from contracts.common import Activity, Actor, ProcessStep, Role
from contracts.registry import CertificationBody, MembershipClass

SECRETARIAT = Actor(organisation_id="asi-secretariat", role=Role.SECRETARIAT)
BODY = CertificationBody(certification_body_id="cb-alu-assure", name="Alu Assure Certification",
                         accredited_from=date(2020, 1, 1), accredited_until=date(2031, 12, 31))


@dataclass(frozen=True)
class Participant:
    org: str
    name: str
    site: str
    site_name: str
    country: str
    activities: tuple[Activity, ...]
    factors: dict[ProcessStep, str] = field(default_factory=dict)
    membership: MembershipClass = MembershipClass.PRODUCTION_AND_TRANSFORMATION
    rule_set: str | None = None
    coc_majors: int = 0

    @property
    def actor(self) -> Actor:
        role = Role.BRAND_OWNER if Activity.BRAND_OWNER in self.activities else Role.PRODUCER
        return Actor(organisation_id=self.org, role=role)


def participants(suffix: str = "") -> dict[str, Participant]:
    """The chain's members; `suffix` keeps the ids of one run apart from another's on shared topics."""

    def p(role: str, org: str, name: str, site: str, site_name: str, country: str, activities: tuple[Activity, ...],
          factors: dict[ProcessStep, str] | None = None, **kw: Any) -> tuple[str, Participant]:
        return role, Participant(org + suffix, name, site + suffix, site_name, country, activities, factors or {}, **kw)

    return dict([
        p("mine", "org-gove-bauxite", "Gove Bauxite Pty", "site-gove-mine", "Gove mine", "AU", (Activity.MINING,),
          {ProcessStep.MINING: "1"}),
        p("refinery", "org-gladstone-alumina", "Gladstone Alumina", "site-gladstone-refinery", "Gladstone refinery",
          "AU", (Activity.ALUMINA_REFINING,), {ProcessStep.BAUXITE_TO_ALUMINA: "0.45"}),
        p("smelter", "org-sunndal-smelting", "Sunndal Smelting AS", "site-sunndal-smelter", "Sunndal smelter", "NO",
          (Activity.SMELTING, Activity.CASTING), {ProcessStep.ALUMINA_TO_ALUMINIUM: "0.518", ProcessStep.CASTING: "0.98"}),
        p("remelter", "org-nachterstedt-recycling", "Nachterstedt Recycling GmbH", "site-nachterstedt-remelt",
          "Nachterstedt remelt", "DE", (Activity.REMELTING, Activity.CASTING),
          {ProcessStep.REMELTING: "0.97", ProcessStep.CASTING: "0.98"}, rule_set="v3-draft-site-credit"),
        p("mill", "org-sierre-rolling", "Sierre Rolling SA", "site-sierre-mill", "Sierre mill", "CH", (Activity.ROLLING,),
          {ProcessStep.ROLLING: "0.85"}, rule_set="v3-draft-site-credit", coc_majors=2),
        p("cans", "org-bonn-cans", "Bonn Can Company", "site-bonn-cans", "Bonn can plant", "DE", (Activity.CAN_MAKING,),
          {ProcessStep.CAN_MAKING: "0.85"}, rule_set="v3-draft-group-credit"),
        p("brand", "org-fizz-brands", "Fizz Brands plc", "site-fizz-filling", "Fizz filling hall", "GB",
          (Activity.BRAND_OWNER,), membership=MembershipClass.INDUSTRIAL_USERS),
    ])
