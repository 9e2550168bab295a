"""Slow path of :mod:`fellesjournal.fhir.validation`: turn a failed fast check into issues.

The walker only calls these once it knows something is wrong, so they may re-examine the
value in detail (and must not report anything for values that are in fact fine, such as a
``null`` in a primitive array that is aligned with a ``_name`` extension).
"""

from __future__ import annotations

from typing import Any

from fellesjournal.fhir.errors import Issue
from fellesjournal.fhir.structure import (
    RESOURCE_TYPES,
    S_CODES,
    S_EXTRA,
    S_MANY,
    S_MATCH,
    S_PTYPES,
    S_TNAME,
    Node,
    Spec,
)

_MAX_SHOWN = 60


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def _shown(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _err(code: str, diagnostics: str, expression: str | None) -> Issue:
    return Issue("error", code, diagnostics, expression)


def unknown_element(node: Node, key: str, path: str) -> Issue:
    """``key`` is not a property of ``node``."""
    if not isinstance(key, str):
        return _err("structure", f"Property names must be strings, got {_shown(key)}", path)
    where = f"{path}.{key}"
    for base in node.choice_bases:
        name = key[1:] if key.startswith("_") else key
        if name.startswith(base) and len(name) > len(base) and name[len(base)].isupper():
            suffix = name[len(base) :]
            return _err("structure", f"Type {suffix} is not allowed for {base}[x]", where)
    if key.startswith("_") and key[1:] in node.elements:
        return _err("structure", f"{key[1:]} is not a primitive; {key} is not allowed", where)
    return _err("structure", f"Unknown element {key!r} in {node.name}", where)


def shape_error(spec: Spec, key: str, v: Any, path: str) -> Issue:
    """A max-``*`` element whose JSON value is not a non-empty array."""
    where = f"{path}.{key}"
    if isinstance(v, list):
        return _err("structure", f"Empty array for {key} (arrays must not be empty)", where)
    return _err(
        "structure",
        f"{key} has max cardinality * and must be a JSON array, got {_json_type(v)}",
        where,
    )


def bad_object(v: Any, where: str, spec: Spec) -> Issue:
    """A value that should have been a non-empty JSON object."""
    tname = spec[S_TNAME]
    if isinstance(v, dict):
        return _err("structure", f"Empty object for {tname} (objects must not be empty)", where)
    if isinstance(v, list) and not spec[S_MANY]:
        return _err(
            "structure",
            f"Array given for a single-valued element of type {tname} (max cardinality 1)",
            where,
        )
    return _err("structure", f"Expected a JSON object for {tname}, got {_json_type(v)}", where)


def bad_primitive_ext(diagnostics: str, where: str) -> Issue:
    return _err("structure", diagnostics, where)


def bad_inline_resource(v: Any, where: str) -> Issue:
    """An inline resource that is not an object of a known ``resourceType``."""
    if not isinstance(v, dict):
        return _err("structure", f"Expected a resource (JSON object), got {_json_type(v)}", where)
    rt = v.get("resourceType")
    if rt is None:
        return _err("required", "Missing resourceType", f"{where}.resourceType")
    if not isinstance(rt, str) or rt not in RESOURCE_TYPES:
        return _err("invalid", f"Unknown resourceType {_shown(rt)}", f"{where}.resourceType")
    raise AssertionError("bad_inline_resource called for a valid resource")  # pragma: no cover


def _expected_json(tname: str, ptypes: tuple[type, ...]) -> str:
    if ptypes == (bool,):
        return "boolean"
    if ptypes == (int,):
        return "integer number"
    if str in ptypes:
        return "string"
    return "number"


def primitive_issue(x: Any, spec: Spec, where: str, in_array: bool = False) -> Issue | None:
    """The problem with one primitive value ``x`` (None when it is fine)."""
    tname, ptypes = spec[S_TNAME], spec[S_PTYPES]
    if x is None:
        if in_array:
            return _err(
                "structure",
                "null in a primitive array is only allowed where the "
                "aligned _ array has an extension entry",
                where,
            )
        return _err("structure", "null is not allowed (omit the element instead)", where)
    if type(x) not in ptypes:
        if isinstance(x, list):
            if in_array:
                return _err("structure", "Nested arrays are not allowed", where)
            return _err(
                "structure",
                f"Array given for a single-valued element of type {tname} (max cardinality 1)",
                where,
            )
        return _err(
            "structure",
            f"{tname} must be a JSON {_expected_json(tname, ptypes)}, "
            f"got {_json_type(x)} {_shown(x)}",
            where,
        )
    if x == "":
        return _err("value", f"Empty string for {tname} (strings must not be empty)", where)
    match = spec[S_MATCH]
    if match is not None and match(x) is None:
        return _err("value", f"Invalid {tname}: {_shown(x)}", where)
    extra = spec[S_EXTRA]
    if extra is not None and not extra(x):
        if tname in ("date", "dateTime", "instant"):
            return _err("value", f"Invalid {tname}: {_shown(x)} is not a calendar date", where)
        return _err("value", f"{tname} out of range: {_shown(x)}", where)
    codes = spec[S_CODES]
    if codes is not None and x not in codes:
        return _err(
            "code-invalid", f"Code {_shown(x)} is not in the required value set {codes.url}", where
        )
    return None


def bad_primitive(
    obj: dict[str, Any], spec: Spec, key: str, v: Any, path: str, out: list[Issue]
) -> None:
    """Report every bad value of primitive ``key`` (``v`` is its JSON value)."""
    if not spec[S_MANY]:
        issue = primitive_issue(v, spec, f"{path}.{key}")
        if issue is not None:
            out.append(issue)
        return
    ext = obj.get("_" + key)
    ext_list: list[Any] = ext if isinstance(ext, list) and len(ext) == len(v) else []
    for i, x in enumerate(v):
        if x is None and ext_list and ext_list[i] is not None:
            continue
        issue = primitive_issue(x, spec, f"{path}.{key}[{i}]", in_array=True)
        if issue is not None:
            out.append(issue)
