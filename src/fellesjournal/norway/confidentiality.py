"""Address confidentiality (adressebeskyttelse): what may be shown of a graded address.

Folkeregisteret grades a person's address ``ugradert``, ``klientadresse``, ``fortrolig``
or ``strengtFortrolig`` (code system ``gd-address-confidentiality``, domain.md §1.2). We
carry the grading on each ``Address`` as an extension with that coding. A ``fortrolig``
address is never disclosed to anyone without the right to see it: only its municipality
is left, so that the right legevakt and home-care service can still be found. A
``strengtFortrolig`` address goes entirely, municipality included (Helseplattformen leaked
these). ``ugradert`` and ``klientadresse`` are shown as they are.

Masking happens at the guarded repository, on every resource leaving it (read, vread,
search and includes, history, ``$everything``, write responses); the search index never
holds a graded address's parts (:func:`index_view`), so no search can reveal them either.
A masked resource carries the security label ``REDACTED`` so that clients know, loses its
narrative (which may spell the address out), and each masked address keeps its grading so
the UI can show the indicator.
"""

from __future__ import annotations

import copy
from typing import Any, Final

EXTENSION_URL: Final = "http://ehelse.no/fhir/StructureDefinition/gd-address-confidentiality"
CODE_SYSTEM: Final = "http://ehelse.no/fhir/CodeSystem/gd-address-confidentiality"
UGRADERT: Final = "ugradert"
KLIENTADRESSE: Final = "klientadresse"
FORTROLIG: Final = "fortrolig"
STRENGT_FORTROLIG: Final = "strengtFortrolig"
GRADES: Final = (UGRADERT, KLIENTADRESSE, FORTROLIG, STRENGT_FORTROLIG)
#: Grades whose address content is withheld.
PROTECTED: Final = frozenset({FORTROLIG, STRENGT_FORTROLIG})

MUNICIPALITY_EXTENSION: Final = "http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode"
DATA_ABSENT_REASON: Final = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
REDACTED: Final = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "REDACTED",
    "display": "redacted",
}
#: Resource types whose addresses are a person's home (the ones Folkeregisteret grades).
PERSON_TYPES: Final = frozenset({"Patient", "Person", "RelatedPerson"})

_MARKER: Final = EXTENSION_URL.encode()


def grading(address: Any) -> str | None:
    """The grading code on an Address, or None when it carries none."""
    if type(address) is not dict:
        return None
    for ext in address.get("extension") or ():
        if type(ext) is dict and ext.get("url") == EXTENSION_URL:
            coding = ext.get("valueCoding")
            if type(coding) is dict and type(coding.get("code")) is str:
                return str(coding["code"])
    return None


def grading_extension(code: str) -> dict[str, Any]:
    """The Address extension that grades an address ``code``."""
    return {"url": EXTENSION_URL, "valueCoding": {"system": CODE_SYSTEM, "code": code}}


def is_protected(address: Any) -> bool:
    return grading(address) in PROTECTED


def may_hold_protected(res_type: str, content: str | bytes) -> bool:
    """A cheap pre-check on stored JSON: could it hold a protected address at all?"""
    if res_type not in PERSON_TYPES:
        return False
    if isinstance(content, str):
        return EXTENSION_URL in content
    return _MARKER in content


def masked_address(address: dict[str, Any]) -> dict[str, Any]:
    """What may be shown of a protected address (see module docstring)."""
    grade = grading(address)
    out: dict[str, Any] = {
        "extension": [
            grading_extension(str(grade)),
            {"url": DATA_ABSENT_REASON, "valueCode": "masked"},
        ]
    }
    if "use" in address:
        out["use"] = address["use"]
    if grade == FORTROLIG:
        district = address.get("district")
        if isinstance(district, str):
            out["district"] = district
        for key in ("_district",):
            if key in address:
                out[key] = copy.deepcopy(address[key])
        for ext in address.get("extension") or ():
            if type(ext) is dict and ext.get("url") == MUNICIPALITY_EXTENSION:
                out["extension"].append(copy.deepcopy(ext))
    return out


def mask(resource: dict[str, Any]) -> dict[str, Any] | None:
    """``resource`` with its protected addresses masked, or None when none is protected.

    The input is not changed. Contained resources are masked too.
    """
    changed = False
    out = dict(resource)
    addresses = resource.get("address")
    if type(addresses) is list and any(is_protected(a) for a in addresses):
        out["address"] = [masked_address(a) if is_protected(a) else a for a in addresses]
        changed = True
    contained = resource.get("contained")
    if type(contained) is list:
        new_contained = []
        for c in contained:
            m = mask(c) if type(c) is dict and c.get("resourceType") in PERSON_TYPES else None
            new_contained.append(m if m is not None else c)
            changed = changed or m is not None
        out["contained"] = new_contained
    if not changed:
        return None
    # The narrative may spell the address out; it cannot be masked piecewise.
    out.pop("text", None)
    meta = dict(out.get("meta") or {})
    labels = list(meta.get("security") or [])
    if not any(type(s) is dict and s.get("code") == "REDACTED" for s in labels):
        labels.append(dict(REDACTED))
    meta["security"] = labels
    out["meta"] = meta
    return out


def index_view(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` as the search index may see it: protected addresses left out."""
    addresses = resource.get("address")
    if type(addresses) is not list or not any(is_protected(a) for a in addresses):
        return resource
    out = dict(resource)
    out["address"] = [a for a in addresses if not is_protected(a)]
    return out


def restore_protected(new: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """Keep the stored protected addresses in an update by someone who cannot see them.

    A client that read the masked resource and writes it back must not erase the real
    address, nor replace what it never saw: while a protected address is stored, the
    stored protected addresses stay as they are, masked placeholders and protected
    addresses in ``new`` are dropped, and the other addresses are kept as sent.
    """
    kept = [a for a in stored.get("address") or () if is_protected(a)]
    if not kept:
        return new
    sent = new.get("address")
    sent_list = sent if type(sent) is list else []
    clear = [a for a in sent_list if not _is_placeholder(a) and not is_protected(a)]
    out = dict(new)
    out["address"] = clear + copy.deepcopy(kept)
    meta = out.get("meta")
    if type(meta) is dict and type(meta.get("security")) is list:
        labels = [
            s for s in meta["security"] if not (type(s) is dict and s.get("code") == "REDACTED")
        ]
        meta = dict(meta)
        if labels:
            meta["security"] = labels
        else:
            meta.pop("security")
        if meta:
            out["meta"] = meta
        else:
            out.pop("meta")
    return out


def _is_placeholder(address: Any) -> bool:
    if type(address) is not dict:
        return False
    return any(
        type(e) is dict and e.get("url") == DATA_ABSENT_REASON and e.get("valueCode") == "masked"
        for e in address.get("extension") or ()
    )
