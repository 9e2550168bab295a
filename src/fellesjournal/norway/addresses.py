"""Checks on Norwegian addresses (no-basis Address) at write time.

* The kommunenummer in the ``no-basis-municipalitycode`` extension (on ``Address.district``
  as no-basis places it, or on the Address itself) must be a valid kommunenummer: current
  for Trøndelag and Møre og Romsdal, well-formed elsewhere.
* The confidentiality grading (:mod:`fellesjournal.norway.confidentiality`) must be one
  of the four codes of its code system, because masking depends on reading it right.
"""

from __future__ import annotations

from typing import Any

from fellesjournal.fhir.errors import Issue
from fellesjournal.norway import confidentiality as conf
from fellesjournal.norway.identifiers import ALIASES, KOMMUNENUMMER_SYSTEM
from fellesjournal.norway.identifiers import check as check_identifier

#: Resource types with ``address`` (a list, or one Address for Location).
ADDRESS_TYPES = conf.ADDRESS_TYPES


def _extensions(node: Any) -> list[tuple[int, dict[str, Any]]]:
    exts = node.get("extension") if type(node) is dict else None
    if type(exts) is not list:
        return []
    return [(i, e) for i, e in enumerate(exts) if type(e) is dict]


def _municipality_issue(ext: dict[str, Any], where: str) -> Issue | None:
    coding = ext.get("valueCoding")
    if type(coding) is not dict:
        return Issue("error", "invalid", "the municipality code needs a valueCoding", where)
    system = coding.get("system")
    code = coding.get("code")
    if type(system) is str and ALIASES.get(system, system) != KOMMUNENUMMER_SYSTEM:
        return Issue(
            "error",
            "code-invalid",
            f"the municipality code must use the kommunenummer system ({KOMMUNENUMMER_SYSTEM})",
            f"{where}.valueCoding.system",
        )
    if type(code) is not str:
        return Issue("error", "required", "the municipality code has no code", where)
    reason = check_identifier(KOMMUNENUMMER_SYSTEM, code)
    if reason:
        return Issue(
            "error", "code-invalid", f"invalid kommunenummer: {reason}", f"{where}.valueCoding.code"
        )
    return None


def _grading_issue(ext: dict[str, Any], where: str) -> Issue | None:
    coding = ext.get("valueCoding")
    if (
        type(coding) is not dict
        or coding.get("system") != conf.CODE_SYSTEM
        or coding.get("code") not in conf.GRADES
    ):
        return Issue(
            "error",
            "code-invalid",
            "the address grading must be a coding from "
            f"{conf.CODE_SYSTEM}: {', '.join(conf.GRADES)}",
            f"{where}.valueCoding",
        )
    return None


def address_issues(resource: dict[str, Any]) -> list[Issue]:
    """Problems with the Norwegian address extensions of ``resource`` (empty when fine)."""
    rtype = resource.get("resourceType")
    if rtype not in ADDRESS_TYPES or "address" not in resource:
        return []
    raw = resource["address"]
    addresses = [(f"{rtype}.address", raw)] if type(raw) is dict else []
    if type(raw) is list:
        addresses = [(f"{rtype}.address[{i}]", a) for i, a in enumerate(raw)]
    issues: list[Issue] = []
    for path, address in addresses:
        if type(address) is not dict:
            continue
        places = [(path, address), (f"{path}.district", address.get("_district"))]
        for base, node in places:
            for i, ext in _extensions(node):
                where = f"{base}.extension[{i}]"
                url = ext.get("url")
                found = None
                if url == conf.MUNICIPALITY_EXTENSION:
                    found = _municipality_issue(ext, where)
                elif url == conf.EXTENSION_URL:
                    found = _grading_issue(ext, where)
                if found is not None:
                    issues.append(found)
    return issues
