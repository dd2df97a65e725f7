"""GS1 identifiers as EPCIS 2.0 carries them, reduced to the number a registry is keyed on.

Sources: GS1 EPC Tag Data Standard 2.x (EPC pure-identity URIs: `urn:epc:id:sgln:`, `urn:epc:id:pgln:`,
`urn:epc:id:sgtin:`, `urn:epc:class:lgtin:`, `urn:epc:idpat:sgtin:`), GS1 Digital Link URI Syntax 1.x
(`https://<any host>/01/<GTIN>[/10/<lot>][/21/<serial>]`, `/414/<GLN>[/254/<extension>]`, `/417/<party GLN>`)
and the GS1 General Specifications (the mod-10 check digit, section 7.9).

* A location (SGLN, Digital Link 414, a bare 13-digit GLN) gives `Gs1Id("gln", <13 digits>)`; the GLN
  extension is not part of the key (sub-locations of a site are that site).
* A party (PGLN, Digital Link 417) gives `Gs1Id("gln", ...)` too: EPCIS 1.x documents name parties by SGLN.
* A product or lot (SGTIN, LGTIN, an SGTIN pattern, Digital Link 01, a bare GTIN-8/12/13/14) gives
  `Gs1Id("gtin", <14 digits>)`; lot and serial are not part of the key (the product class is).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

Kind = Literal["gln", "gtin"]

_EPC = re.compile(r"^urn:epc:(?:id|class|idpat):(sgln|pgln|sgtin|lgtin):([0-9]+)\.([0-9]*)(?:\.(.*))?$", re.I)
_DIGITS = re.compile(r"^[0-9]+$")


class NotGs1(ValueError):
    """Looks like a GS1 identifier but is not a valid one (wrong length or check digit)."""


@dataclass(frozen=True)
class Gs1Id:
    kind: Kind
    number: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.number}"


def check_digit(digits: str) -> str:
    """GS1 mod-10 check digit of the digits before it (weights 3, 1, 3, ... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def _checked(number: str, kind: Kind) -> Gs1Id:
    if check_digit(number[:-1]) != number[-1]:
        raise NotGs1(f"{number} has a wrong check digit (expected {check_digit(number[:-1])})")
    return Gs1Id(kind, number)


def looks_like_gs1(text: str) -> bool:
    lowered = text.strip().lower()
    return lowered.startswith("urn:epc:") or (lowered.startswith(("http://", "https://"))
                                              and re.search(r"/(01|414|417)/", lowered) is not None)


def parse(text: str) -> Gs1Id:
    """The registry key of an EPC URI, a GS1 Digital Link URI or bare GLN/GTIN digits; NotGs1 if it is none."""
    value = text.strip()
    match = _EPC.match(value)
    if match:
        return _from_epc(match.group(1).lower(), match.group(2), match.group(3))
    if value.lower().startswith(("http://", "https://")):
        return _from_digital_link(value)
    if _DIGITS.match(value):
        if len(value) == 13:
            return _checked(value, "gln")
        if len(value) in (8, 12, 14):
            return _checked(value.zfill(14), "gtin")
    raise NotGs1(f"{value!r} is not a GS1 identifier (SGLN, PGLN, SGTIN, LGTIN, Digital Link, GLN or GTIN)")


def _from_epc(scheme: str, company: str, reference: str) -> Gs1Id:
    if scheme in ("sgln", "pgln"):
        if len(company) + len(reference) != 12:
            raise NotGs1(f"an {scheme.upper()} company prefix and location reference are 12 digits together")
        number = company + reference
        return Gs1Id("gln", number + check_digit(number))
    if len(company) + len(reference) != 13 or not reference:
        raise NotGs1(f"an {scheme.upper()} company prefix and indicator/item reference are 13 digits together")
    number = reference[0] + company + reference[1:]
    return Gs1Id("gtin", number + check_digit(number))


def _primary_keys(segments: list[str]) -> dict[str, str]:
    """The digits after each primary-key application identifier (01 GTIN, 414 location GLN, 417
    party GLN) in a Digital Link's path; the key may follow a path prefix, so it is looked for anywhere."""
    values = {}
    for ai in ("01", "414", "417"):
        found = next((segments[i + 1] for i in range(len(segments) - 1)
                      if segments[i] == ai and _DIGITS.match(segments[i + 1])), None)
        if found is not None:
            values[ai] = found
    return values


def _from_digital_link(uri: str) -> Gs1Id:
    segments = [unquote(s) for s in urlsplit(uri).path.split("/") if s]
    values = _primary_keys(segments)
    if "01" in values and len(values["01"]) in (8, 12, 13, 14):
        return _checked(values["01"].zfill(14), "gtin")
    for ai in ("414", "417"):
        if ai in values and len(values[ai]) == 13:
            return _checked(values[ai], "gln")
    raise NotGs1(f"{uri!r} is not a GS1 Digital Link with a GTIN (01), a location GLN (414) or a party GLN (417)")
