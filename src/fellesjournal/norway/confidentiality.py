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

_MARKER: Final = EXTENSION_URL.encode()


_RANK: Final = {UGRADERT: 0, KLIENTADRESSE: 1, FORTROLIG: 2, STRENGT_FORTROLIG: 3}


def grading(address: Any) -> str | None:
    """The grading of an Address (the strictest, if several are given), or None."""
    if type(address) is not dict:
        return None
    found: str | None = None
    for ext in address.get("extension") or ():
        if type(ext) is dict and ext.get("url") == EXTENSION_URL:
            coding = ext.get("valueCoding")
            code = coding.get("code") if type(coding) is dict else None
            if type(code) is not str or code not in _RANK:
                return STRENGT_FORTROLIG  # an unreadable grading fails closed
            if found is None or _RANK.get(code, 3) > _RANK.get(found, 3):
                found = code
    return found


def grading_extension(code: str) -> dict[str, Any]:
    """The Address extension that grades an address ``code``."""
    return {"url": EXTENSION_URL, "valueCoding": {"system": CODE_SYSTEM, "code": code}}


def is_protected(address: Any) -> bool:
    return grading(address) in PROTECTED


def may_hold_protected(content: str | bytes) -> bool:
    """A cheap pre-check on stored JSON: could it hold a protected address anywhere?"""
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
    """``resource`` with every protected address in it masked, or None when it has none.

    Addresses are found wherever they are: ``address``, ``contact.address``, contained
    resources, the entries of a stored Bundle. A resource (top level or nested) that had
    something masked loses its narrative. The input is not changed.
    """
    out = _masked(resource)
    if out is resource:
        return None
    meta = dict(out.get("meta") or {})
    labels = list(meta.get("security") or [])
    if not any(type(s) is dict and s.get("code") == "REDACTED" for s in labels):
        labels.append(dict(REDACTED))
    meta["security"] = labels
    out["meta"] = meta
    return out


def strictest_protection(resource: dict[str, Any]) -> str | None:
    """The strictest protected grading among the resource's own addresses, or None."""
    grades = [grading(a) for a in _as_list(resource.get("address"))]
    protected = [g for g in grades if g in PROTECTED]
    return max(protected, key=_RANK.__getitem__) if protected else None


def mask_earlier_version(resource: dict[str, Any], grade: str) -> dict[str, Any]:
    """An earlier version of a resource whose address is protected *now*: every address
    of it is masked as ``grade`` (protection is usually granted to an address already
    on record, so the old versions hold the very address to protect)."""
    graded = dict(resource)
    graded["address"] = [
        {**a, "extension": [grading_extension(grade)]} if type(a) is dict else a
        for a in _as_list(resource.get("address"))
    ]
    return mask(graded) or graded


def _masked(node: Any) -> Any:
    """``node`` with protected addresses masked; the very same object when unchanged."""
    if type(node) is dict:
        if is_protected(node):
            return masked_address(node)
        changed: dict[str, Any] | None = None
        for key, value in node.items():
            if type(value) in (dict, list):
                new = _masked(value)
                if new is not value:
                    if changed is None:
                        changed = dict(node)
                    changed[key] = new
        if changed is None:
            return node
        if "resourceType" in changed:
            # The narrative may spell the address out; it cannot be masked piecewise.
            changed.pop("text", None)
        return changed
    if type(node) is list:
        items = [_masked(v) if type(v) in (dict, list) else v for v in node]
        if all(a is b for a, b in zip(items, node, strict=True)):
            return node
        return items
    return node


def index_view(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` as the search index may see it: protected addresses left out."""
    addresses = resource.get("address")
    if type(addresses) is dict:
        if not is_protected(addresses):
            return resource
        out = dict(resource)
        del out["address"]
        return out
    if type(addresses) is not list or not any(is_protected(a) for a in addresses):
        return resource
    out = dict(resource)
    out["address"] = [a for a in addresses if not is_protected(a)]
    return out


def restore_protected(new: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """Keep the stored protected addresses in an update by someone who cannot see them.

    A client that read the masked resource and writes it back must not erase the real
    address, nor replace what it never saw. While a protected address is stored:

    * top-level ``address``: the stored protected addresses stay as they are; masked
      placeholders and protected addresses sent are dropped; the others are kept as sent;
    * anywhere else (``contact.address``, contained resources): a masked placeholder is
      put back to the stored address at the same place;
    * the stored narrative stays when the update sends none (masking removed it).
    """
    if _masked(stored) is stored:
        return new
    out = _put_back(new, stored, top=True)
    if "text" not in out and "text" in stored:
        out["text"] = copy.deepcopy(stored["text"])
    kept = [a for a in _as_list(stored.get("address")) if is_protected(a)]
    if kept:
        clear = [
            a
            for a in _as_list(out.get("address"))
            if not _is_placeholder(a) and not is_protected(a)
        ]
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


def _as_list(value: Any) -> list[Any]:
    return value if type(value) is list else []


def _put_back(new: Any, stored: Any, *, top: bool = False) -> Any:
    """``new`` with nested masked placeholders replaced by ``stored`` at the same place."""
    if type(new) is dict:
        if _is_placeholder(new):
            return copy.deepcopy(stored) if is_protected(stored) else new
        out = dict(new)
        for key, value in new.items():
            if top and key == "address":
                continue  # handled by the caller
            if type(value) in (dict, list):
                peer = stored.get(key) if type(stored) is dict else None
                out[key] = _put_back(value, peer)
        return out
    if type(new) is list:
        peers = stored if type(stored) is list else []
        return [
            _put_back(v, peers[i] if i < len(peers) else None) if type(v) in (dict, list) else v
            for i, v in enumerate(new)
        ]
    return new


#: Types whose own ``address`` may be graded; other types hold graded addresses only in
#: contained resources (and an update of those is checked when it carries a placeholder).
ADDRESS_TYPES: Final = frozenset(
    {"Patient", "Person", "RelatedPerson", "Practitioner", "Organization", "Location"}
)


def needs_restore_check(res_type: str, resource: dict[str, Any]) -> bool:
    """Must an update by someone who cannot see protected addresses be merged with the
    stored version (see :func:`restore_protected`)?"""
    return res_type in ADDRESS_TYPES or _holds_placeholder(resource)


def _holds_placeholder(node: Any) -> bool:
    if type(node) is dict:
        return _is_placeholder(node) or any(
            _holds_placeholder(v) for v in node.values() if type(v) in (dict, list)
        )
    if type(node) is list:
        return any(_holds_placeholder(v) for v in node if type(v) in (dict, list))
    return False


def _is_placeholder(address: Any) -> bool:
    if type(address) is not dict:
        return False
    return any(
        type(e) is dict and e.get("url") == DATA_ABSENT_REASON and e.get("valueCode") == "masked"
        for e in address.get("extension") or ()
    )
