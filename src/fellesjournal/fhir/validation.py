"""Fast structural validation of FHIR R4 JSON resources against the official definitions.

Contract
--------
``validate_resource(resource)`` takes a parsed JSON resource (``dict``) and returns a list of
error :class:`~fellesjournal.fhir.errors.Issue` s (empty = valid). It never raises for bad
input. ``expression`` is a FHIRPath-like location: ``Patient.identifier[0].value``,
``Observation.valueQuantity.value``, ``Bundle.entry[0].resource.name[0].given``.

What is checked (R4 4.0.1 StructureDefinitions, JSON representation rules):

* ``resourceType`` present and a known R4 resource type;
* unknown properties anywhere (resources, backbone elements, datatypes, ``_name`` objects);
* choice elements: only the allowed type suffixes, at most one per choice;
* JSON arrays exactly where max is ``*``; objects where a complex type is expected;
* primitives: JSON type (string / number / boolean), the spec regex of every primitive type
  (dates also on the calendar), 32-bit range for integer types, no empty strings;
* primitive extensions (``_birthDate``; arrays aligned with ``null``s);
* no empty objects or arrays, no ``null`` outside aligned primitive arrays;
* min cardinality (a primitive is present when either ``name`` or ``_name`` is);
* extensions: ``url`` required, either ``value[x]`` or nested extensions (ext-1);
* ``code`` elements with a REQUIRED binding whose value set is fully enumerable;
* inline resources (``contained``, ``Bundle.entry.resource``, ``Parameters.parameter.resource``)
  recursively, as resources;
* optionally, each Identifier with both ``system`` and ``value`` through ``identifier_check``.

Issue codes: ``structure`` (unknown property, wrong JSON shape or JSON type, array/single
mismatch, empty object/array, null, two choice types), ``value`` (lexical, calendar, range,
empty string, identifier check), ``required`` (missing element or resourceType),
``code-invalid`` (code outside a required value set), ``invalid`` (unknown resourceType,
ext-1, nesting too deep). Not checked: invariants (FHIRPath constraints) other than ext-1,
profiles in ``meta.profile``, reference targets, extensible/preferred bindings, terminology
of Coding/CodeableConcept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fellesjournal.fhir.errors import Issue, unprocessable
from fellesjournal.fhir.structure import (
    CPLX,
    F_EXTENSION,
    F_IDENTIFIER,
    PEXT,
    PRIM,
    RES,
    RESOURCE_TYPES,
    Node,
    Spec,
    element_node,
    resource_nodes,
)
from fellesjournal.fhir.validation_messages import (
    bad_inline_resource,
    bad_object,
    bad_primitive,
    bad_primitive_ext,
    shape_error,
    unknown_element,
)

__all__ = ["RESOURCE_TYPES", "IdentifierCheck", "validate_or_raise", "validate_resource"]

IdentifierCheck = Callable[[str, str], "str | None"]

_NODES = resource_nodes()
_ELEMENT = element_node()
_list, _dict = list, dict


def validate_resource(
    resource: Any, *, identifier_check: IdentifierCheck | None = None
) -> list[Issue]:
    """Structural errors of ``resource`` (a parsed R4 JSON resource); ``[]`` when valid.

    ``identifier_check(system, value)`` is called for every Identifier that has both; a
    non-None return becomes an error issue (code ``value``) at ``...identifier[i].value``.
    """
    out: list[Issue] = []
    if type(resource) is not _dict:
        out.append(Issue("error", "structure", "A resource must be a JSON object", None))
        return out
    rt = resource.get("resourceType")
    if rt is None:
        out.append(Issue("error", "required", "Missing resourceType", None))
        return out
    node = _NODES.get(rt) if type(rt) is str else None
    if node is None:
        out.append(Issue("error", "invalid", f"Unknown resourceType {rt!r}", "resourceType"))
        return out
    try:
        _walk(resource, node, rt, out, identifier_check)
    except RecursionError:
        out.append(Issue("error", "invalid", "Resource is nested too deeply", rt))
    return out


def validate_or_raise(resource: Any, *, identifier_check: IdentifierCheck | None = None) -> None:
    """Raise :func:`~fellesjournal.fhir.errors.unprocessable` (HTTP 422) when invalid."""
    issues = validate_resource(resource, identifier_check=identifier_check)
    if issues:
        raise unprocessable(issues)


def _walk(
    obj: dict[str, Any],
    node: Node,
    path: str,
    out: list[Issue],
    idcheck: IdentifierCheck | None,
) -> None:
    """Validate the non-empty JSON object ``obj`` of shape ``node`` located at ``path``."""
    elements = node.elements
    choices: dict[str, str] | None = None
    for key, v in obj.items():
        spec = elements.get(key)
        if spec is None:
            out.append(unknown_element(node, key, path))
            continue
        kind, many, choice, sub, ptypes, match, extra, codes, _ = spec
        if choice is not None:
            base, full = choice
            if choices is None:
                choices = {base: full}
            else:
                seen = choices.setdefault(base, full)
                if seen != full:
                    out.append(
                        Issue(
                            "error",
                            "structure",
                            f"More than one type given for {base}[x]",
                            f"{path}.{key}",
                        )
                    )
        if kind == PRIM:
            if many:
                if type(v) is not _list or not v:
                    out.append(shape_error(spec, key, v, path))
                    continue
                for x in v:
                    if (
                        type(x) not in ptypes
                        or (match is not None and match(x) is None)
                        or (extra is not None and not extra(x))
                        or (codes is not None and x not in codes)
                    ):
                        bad_primitive(obj, spec, key, v, path, out)
                        break
            elif (
                type(v) not in ptypes
                or (match is not None and match(v) is None)
                or (extra is not None and not extra(v))
                or (codes is not None and v not in codes)
            ):
                bad_primitive(obj, spec, key, v, path, out)
        elif kind == CPLX:
            if many:
                if type(v) is not _list or not v:
                    out.append(shape_error(spec, key, v, path))
                    continue
                for i, x in enumerate(v):
                    if type(x) is _dict and x:
                        _walk(x, sub, f"{path}.{key}[{i}]", out, idcheck)
                    else:
                        out.append(bad_object(x, f"{path}.{key}[{i}]", spec))
            elif type(v) is _dict and v:
                _walk(v, sub, f"{path}.{key}", out, idcheck)
            else:
                out.append(bad_object(v, f"{path}.{key}", spec))
        elif kind == RES:
            if many:
                if type(v) is not _list or not v:
                    out.append(shape_error(spec, key, v, path))
                    continue
                for i, x in enumerate(v):
                    _inline_resource(x, f"{path}.{key}[{i}]", out, idcheck)
            else:
                _inline_resource(v, f"{path}.{key}", out, idcheck)
        elif kind == PEXT:
            _primitive_ext(obj, spec, key, v, path, out, idcheck)
        # SKIP (resourceType): checked by the caller.
    for display, alternatives in node.required:
        for alt in alternatives:
            if alt in obj:
                break
        else:
            out.append(
                Issue(
                    "error", "required", f"Missing required element {display}", f"{path}.{display}"
                )
            )
    flag = node.flag
    if flag == F_IDENTIFIER:
        if idcheck is not None:
            system, value = obj.get("system"), obj.get("value")
            if type(system) is str and type(value) is str:
                msg = idcheck(system, value)
                if msg is not None:
                    out.append(Issue("error", "value", msg, f"{path}.value"))
    elif flag == F_EXTENSION and (choices is None) == ("extension" not in obj):
        out.append(
            Issue(
                "error",
                "invalid",
                "An extension must have either extensions or "
                f"value[x], {'not both' if choices else 'but has neither'} (ext-1)",
                path,
            )
        )


def _inline_resource(v: Any, path: str, out: list[Issue], idcheck: IdentifierCheck | None) -> None:
    node = None
    if type(v) is _dict:
        rt = v.get("resourceType")
        node = _NODES.get(rt) if type(rt) is str else None
    if node is None:
        out.append(bad_inline_resource(v, path))
    else:
        _walk(v, node, path, out, idcheck)


def _primitive_ext(
    obj: dict[str, Any],
    spec: Spec,
    key: str,
    v: Any,
    path: str,
    out: list[Issue],
    idcheck: IdentifierCheck | None,
) -> None:
    """``_name``: an Element object, or an array of them aligned with the ``name`` array."""
    if not spec[1]:
        if type(v) is _dict and v:
            _walk(v, _ELEMENT, f"{path}.{key}", out, idcheck)
        else:
            out.append(bad_object(v, f"{path}.{key}", spec))
        return
    if type(v) is not _list or not v:
        out.append(shape_error(spec, key, v, path))
        return
    values = obj.get(key[1:])
    if values is not None and (type(values) is not _list or len(values) != len(v)):
        if type(values) is _list:
            out.append(
                bad_primitive_ext(f"{key} must have as many entries as {key[1:]}", f"{path}.{key}")
            )
        return
    for i, x in enumerate(v):
        where = f"{path}.{key}[{i}]"
        if x is None:
            if values is None or values[i] is None:
                out.append(
                    bad_primitive_ext("null in both the value and the extension array", where)
                )
        elif type(x) is _dict and x:
            _walk(x, _ELEMENT, where, out, idcheck)
        else:
            out.append(bad_object(x, where, spec))
