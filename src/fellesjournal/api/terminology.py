"""Terminology operations over ICD-10-NO and ICPC-2 (``fellesjournal.terminology``).

* ``CodeSystem/$lookup`` – https://hl7.org/fhir/R4/codesystem-operation-lookup.html
* ``ValueSet/$expand`` – https://hl7.org/fhir/R4/valueset-operation-expand.html
* ``CodeSystem/$validate-code`` – https://hl7.org/fhir/R4/codesystem-operation-validate-code.html
* ``ValueSet/$validate-code`` – https://hl7.org/fhir/R4/valueset-operation-validate-code.html

Inputs come from the query (GET) or a ``Parameters`` body (POST); the first occurrence of a
parameter wins. Value sets are the implicit "all codes" sets ``<system>?fhir_vs`` (the
system URL itself is accepted as well); inline ``valueSet``/``codeSystem`` resources are
not supported (400). Errors: missing or malformed input 400; an unknown code system, value
set or version 404; ``$lookup`` of an unknown code 404 (``not-found``), while
``$validate-code`` answers an unknown code with ``result = false``. Every handler asks the
access policy for ``operation`` on its resource type first. Code lists are not patient
data, so nothing is audited.
"""

from __future__ import annotations

import uuid
from typing import Any

from fellesjournal import terminology as term
from fellesjournal.api.request import FhirRequest
from fellesjournal.api.responses import FhirResponse, dumps
from fellesjournal.fhir.errors import bad_request, error, not_found
from fellesjournal.fhir.instants import now_instant
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.terminology import SystemInfo

DEFAULT_COUNT = 20
MAX_COUNT = 1000


def codesystem_lookup(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    """``CodeSystem/$lookup``: name, version, display and designation of one code."""
    repo.guard("operation", "CodeSystem")
    inputs = _inputs(req)
    system, code, version = _system_and_code(inputs)
    if system is None or code is None:
        raise bad_request("$lookup needs 'system' and 'code' (or 'coding')")
    info = _code_system(system, version)
    concept = term.lookup(system, code)
    if concept is None:
        raise not_found(f"'{code}' is not a code of {system}")
    return _parameters(
        [
            {"name": "name", "valueString": info.title},
            {"name": "version", "valueString": info.version},
            {"name": "display", "valueString": concept.display},
            {
                "name": "designation",
                "part": [
                    {"name": "language", "valueCode": "nb"},
                    {"name": "value", "valueString": concept.display},
                ],
            },
        ]
    )


def valueset_expand(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    """``ValueSet/$expand``: one page of an implicit value set, optionally filtered."""
    repo.guard("operation", "ValueSet")
    inputs = _inputs(req)
    _unsupported(inputs, "valueSet")
    url = _str(inputs, "url")
    if url is None:
        raise bad_request("$expand needs 'url' (inline value sets are not supported)", "url")
    info = _value_set(url, _str(inputs, "valueSetVersion"))
    filter_text = _str(inputs, "filter")
    count = min(_int(inputs, "count", DEFAULT_COUNT), MAX_COUNT)
    offset = _int(inputs, "offset", 0)
    total, concepts = term.expand(info.value_set, filter_text, count, offset)
    used: list[dict[str, Any]] = []
    if filter_text:  # FHIR strings are never empty
        used.append({"name": "filter", "valueString": filter_text})
    used += [{"name": "count", "valueInteger": count}, {"name": "offset", "valueInteger": offset}]
    expansion: dict[str, Any] = {
        "identifier": f"urn:uuid:{uuid.uuid4()}",
        "timestamp": now_instant(),
        "total": total,
        "offset": offset,
        "parameter": used,
    }
    if concepts:  # FHIR JSON has no empty arrays
        expansion["contains"] = [
            {"system": c.system, "version": info.version, "code": c.code, "display": c.display}
            for c in concepts
        ]
    value_set = {
        "resourceType": "ValueSet",
        "url": info.value_set,
        "version": info.version,
        "name": f"{info.name}All",
        "title": f"Alle koder i {info.title}",
        "status": "active",
        "compose": {"include": [{"system": info.url, "version": info.version}]},
        "expansion": expansion,
    }
    return FhirResponse(200, dumps(value_set))


def validate_code(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    """``$validate-code`` on ``CodeSystem`` or ``ValueSet`` (the router has one entry)."""
    if req.path[0] == "ValueSet":
        return valueset_validate_code(req, repo, base)
    return codesystem_validate_code(req, repo, base)


def codesystem_validate_code(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    """``CodeSystem/$validate-code``: is ``code`` (or ``coding``...) in the system ``url``?"""
    repo.guard("operation", "CodeSystem")
    inputs = _inputs(req)
    _unsupported(inputs, "codeSystem")
    url = _str(inputs, "url") or _str(inputs, "system")
    version = _str(inputs, "version")
    if url is None:
        raise bad_request("$validate-code needs 'url', the code system", "url")
    info = _code_system(url, version)
    return _validation(info, _candidates(inputs, info, "version"), _str(inputs, "display"))


def valueset_validate_code(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    """``ValueSet/$validate-code``: is the code (or ``coding``...) in the value set ``url``?"""
    repo.guard("operation", "ValueSet")
    inputs = _inputs(req)
    _unsupported(inputs, "valueSet")
    url = _str(inputs, "url")
    if url is None:
        raise bad_request("$validate-code needs 'url', the value set", "url")
    info = _value_set(url, _str(inputs, "valueSetVersion"))
    return _validation(info, _candidates(inputs, info, "systemVersion"), _str(inputs, "display"))


# --- helpers -------------------------------------------------------------------------


def _validation(
    info: SystemInfo,
    candidates: list[tuple[str | None, str | None, str | None]],
    display: str | None,
) -> FhirResponse:
    """Parameters ``result``/``message``/``display``: valid when any candidate is valid."""
    messages: list[str] = []
    found_display: str | None = None
    for system, code, coding_display in candidates:
        if system is not None and term.system_info(system) is not info:
            messages.append(f"the code system '{system}' is not {info.url}")
            continue
        if not code:
            messages.append("a coding without a code")
            continue
        want = display if display is not None else coding_display
        ok, message = term.validate_code(info.url, code, want)
        concept = term.lookup(info.url, code)
        if concept is not None and found_display is None:
            found_display = concept.display
        if ok:
            return _parameters(_result(True, None, concept.display if concept else None))
        messages.append(message or "invalid")
    return _parameters(_result(False, "; ".join(messages), found_display))


def _result(ok: bool, message: str | None, display: str | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"name": "result", "valueBoolean": ok}]
    if message:
        out.append({"name": "message", "valueString": message})
    if display:
        out.append({"name": "display", "valueString": display})
    return out


def _candidates(
    inputs: dict[str, Any], info: SystemInfo, version_name: str
) -> list[tuple[str | None, str | None, str | None]]:
    """``(system, code, display)`` to try, from ``code``, ``coding`` or ``codeableConcept``.

    A bare ``code`` without ``system`` belongs to the one system of the value set. A
    version of a known system other than the one served is unknown (404).
    """
    if inputs.get("code") is not None:
        system = _str(inputs, "system") or info.url
        _check_version(system, _str(inputs, version_name))
        return [(system, _str(inputs, "code"), None)]
    if inputs.get("coding") is not None:
        codings = [_coding_dict(inputs["coding"], "coding")]
    elif inputs.get("codeableConcept") is not None:
        cc = inputs["codeableConcept"]
        if not isinstance(cc, dict) or not isinstance(cc.get("coding", []), list):
            raise bad_request("'codeableConcept' must be a CodeableConcept", "codeableConcept")
        codings = [_coding_dict(c, "codeableConcept") for c in cc.get("coding", [])]
        if not codings:
            raise bad_request("'codeableConcept' has no coding", "codeableConcept")
    else:
        raise bad_request("$validate-code needs 'code', 'coding' or 'codeableConcept'")
    out: list[tuple[str | None, str | None, str | None]] = []
    for c in codings:
        values = (c.get("system"), c.get("code"), c.get("display"))
        if not all(v is None or isinstance(v, str) for v in values):
            raise bad_request("a Coding's system, code and display must be strings")
        version = c.get("version")
        _check_version(values[0], version if isinstance(version, str) else None)
        out.append(values)
    return out


def _check_version(system: str | None, version: str | None) -> None:
    known = term.system_info(system)
    if known is not None and version is not None and version != known.version:
        raise _unknown_version(known.url, version, known)


def _system_and_code(inputs: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """``(system, code, version)`` from ``system``/``code``/``version`` or ``coding``."""
    if inputs.get("coding") is not None and inputs.get("code") is None:
        coding = _coding_dict(inputs["coding"], "coding")
        values = (coding.get("system"), coding.get("code"), coding.get("version"))
        if not all(v is None or isinstance(v, str) for v in values):
            raise bad_request("a Coding's system, code and version must be strings", "coding")
        return values
    return _str(inputs, "system"), _str(inputs, "code"), _str(inputs, "version")


def _code_system(url: str, version: str | None) -> SystemInfo:
    info = term.system_info(url)
    if info is None:
        raise not_found(f"unknown code system '{url}'")
    if version is not None and version != info.version:
        raise _unknown_version(url, version, info)
    return info


def _value_set(url: str, version: str | None) -> SystemInfo:
    info = term.value_set_info(url)
    if info is None:
        raise not_found(
            f"unknown value set '{url}'; this server expands "
            + ", ".join(s.value_set for s in term.SYSTEMS)
        )
    if version is not None and version != info.version:
        raise not_found(f"value set '{url}' version '{version}' is not available")
    return info


def _unknown_version(url: str, version: str, info: SystemInfo) -> Exception:
    return not_found(f"version '{version}' of {url} is not available (only {info.version})")


def _inputs(req: FhirRequest) -> dict[str, Any]:
    """The input parameters by name: query parameters, then a POSTed Parameters body."""
    inputs: dict[str, Any] = {}
    for name, text in req.query:
        inputs.setdefault(name, text)
    if req.method != "POST":
        return inputs
    body = req.json_body()
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise bad_request("the body must be a Parameters resource")
    params = body.get("parameter", [])
    if not isinstance(params, list):
        raise bad_request("Parameters.parameter must be a list", "Parameters.parameter")
    for i, param in enumerate(params):
        if not isinstance(param, dict) or not isinstance(param.get("name"), str):
            raise bad_request("every parameter needs a name", f"Parameters.parameter[{i}]")
        if "resource" in param:
            value = param["resource"]
        else:
            value = next((v for k, v in param.items() if k.startswith("value")), None)
        inputs.setdefault(param["name"], value)
    return inputs


def _str(inputs: dict[str, Any], name: str) -> str | None:
    value = inputs.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"'{name}' must be a string", name)
    return value


def _int(inputs: dict[str, Any], name: str, default: int) -> int:
    value = inputs.get(name)
    if value is None:
        return default
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise bad_request(f"'{name}' must be a whole number ≥ 0, not '{value}'", name)


def _coding_dict(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request(f"'{name}' must be a Coding", name)
    return value


def _unsupported(inputs: dict[str, Any], name: str) -> None:
    if inputs.get(name) is not None:
        raise error(400, "not-supported", f"an inline '{name}' is not supported; use 'url'", name)


def _parameters(params: list[dict[str, Any]]) -> FhirResponse:
    return FhirResponse(200, dumps({"resourceType": "Parameters", "parameter": params}))
