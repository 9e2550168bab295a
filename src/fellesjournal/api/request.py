"""A parsed FHIR request: what the interaction handlers see (no HTTP framework here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import bad_request, error

JSON_TYPES = (
    "application/fhir+json",
    "application/json",
    "application/json-patch+json",
    "text/json",
)


@dataclass
class FhirRequest:
    """One FHIR interaction request, independent of Starlette.

    ``path`` holds the segments after the FHIR base (``["Patient", "123", "_history"]``).
    Header names are lower-case.
    """

    method: str
    path: list[str]
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json_body(self) -> Any:
        """The body parsed as JSON; 400 when it is not JSON, 415 for another media type."""
        ctype = (self.header("content-type") or "").split(";")[0].strip().lower()
        if ctype and ctype not in JSON_TYPES:
            raise error(
                415,
                "not-supported",
                f"unsupported content type '{ctype}': send application/fhir+json",
            )
        if not self.body.strip():
            raise bad_request("the request body is empty")
        try:
            return jsonio.loads(self.body)
        except jsonio.JSONDecodeError as exc:
            raise bad_request(f"the body is not valid JSON: {exc}") from None

    @property
    def prefer_return(self) -> str:
        """``Prefer: return=minimal|representation|OperationOutcome`` (default representation)."""
        for part in (self.header("prefer") or "").split(","):
            key, _, value = part.strip().partition("=")
            if key.strip() == "return":
                return value.strip().strip('"')
        return "representation"

    @property
    def strict(self) -> bool:
        return "handling=strict" in (self.header("prefer") or "").replace(" ", "")

    def if_match(self) -> int | None:
        """The version in ``If-Match: W/"3"``; 400 when malformed."""
        raw = self.header("if-match")
        if raw is None:
            return None
        value = raw.strip()
        if value.startswith("W/"):
            value = value[2:]
        value = value.strip('"')
        if not value.isdigit():
            raise bad_request(f"If-Match must be an ETag like W/\"1\", not '{raw}'")
        return int(value)

    def query_without(self, *names: str) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self.query if k not in names]
