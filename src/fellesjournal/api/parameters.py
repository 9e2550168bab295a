"""An operation's Parameters body, by parameter name (each at most once)."""

from __future__ import annotations

from typing import Any

from fellesjournal.fhir.errors import bad_request


def by_name(body: Any, allowed: tuple[str, ...] | None = None) -> dict[str, dict[str, Any]]:
    """The parameters of a Parameters resource by name; 400 for anything else, a name
    given twice, or (with ``allowed``) a name the operation does not take."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise bad_request("the body must be a Parameters resource")
    params = body.get("parameter", [])
    if not isinstance(params, list) or not all(isinstance(p, dict) for p in params):
        raise bad_request("Parameters.parameter must be a list of parameters")
    out: dict[str, dict[str, Any]] = {}
    for p in params:
        name = p.get("name")
        if not isinstance(name, str):
            raise bad_request("every parameter needs a name")
        if allowed is not None and name not in allowed:
            raise bad_request(
                f"unknown parameter '{name}': this operation takes {', '.join(allowed)}", name
            )
        if name in out:
            raise bad_request(f"'{name}' may be given once", name)
        out[name] = p
    return out
