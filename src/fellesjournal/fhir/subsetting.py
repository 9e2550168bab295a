"""``_summary`` and ``_elements``: https://hl7.org/fhir/R4/search.html#summary.

A subsetted resource carries the ``SUBSETTED`` security tag, as the spec requires.
Summary element lists come from ``definitions/r4-summary.json`` (built from the official
StructureDefinitions by ``tools/build_summary_elements.py``).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_DEFS = Path(__file__).with_name("definitions") / "r4-summary.json"
_ALWAYS = ("resourceType", "id", "meta")
SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
}


@cache
def _tables() -> dict[str, dict[str, tuple[str, ...]]]:
    raw = json.loads(_DEFS.read_text())
    return {k: {t: tuple(v) for t, v in table.items()} for k, table in raw.items()}


def _keep(resource: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in resource.items():
        base = key[1:] if key.startswith("_") else key
        if key in _ALWAYS or any(
            base == n or (base.startswith(n) and base[len(n) : len(n) + 1].isupper()) for n in names
        ):
            out[key] = value
    return out


def _tag(resource: dict[str, Any]) -> dict[str, Any]:
    meta = dict(resource.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    resource["meta"] = meta
    return resource


def subset(
    resource: dict[str, Any], summary: str | None, elements: tuple[str, ...] | None
) -> dict[str, Any]:
    """The resource reduced as ``_summary`` (true/text/data) or ``_elements`` ask."""
    res_type = resource.get("resourceType", "")
    mandatory = _tables()["mandatory"].get(res_type, ())
    if summary == "true":
        return _tag(_keep(resource, _tables()["summary"].get(res_type, ()) + mandatory))
    if summary == "text":
        return _tag(_keep(resource, ("text", *mandatory)))
    if summary == "data":
        return _tag({k: v for k, v in resource.items() if k != "text"})
    if elements:
        return _tag(_keep(resource, (*elements, *mandatory)))
    return resource
