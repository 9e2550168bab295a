"""One error type that carries an OperationOutcome.

Handlers raise :class:`FhirError`; the HTTP layer maps it to a response in one place
(see ``api/responses.py``). Issue codes are from the FHIR ``issue-type`` value set:
https://hl7.org/fhir/R4/valueset-issue-type.html
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Issue:
    """One OperationOutcome.issue: severity, code, diagnostics, optional FHIRPath expression."""

    severity: str
    code: str
    diagnostics: str
    expression: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "severity": self.severity,
            "code": self.code,
            "diagnostics": self.diagnostics,
        }
        if self.expression:
            out["expression"] = [self.expression]
        return out


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    """An OperationOutcome resource holding ``issues`` (at least one issue, as R4 requires)."""
    if not issues:
        issues = [Issue("information", "informational", "All OK")]
    return {"resourceType": "OperationOutcome", "issue": [i.to_json() for i in issues]}


@dataclass
class FhirError(Exception):
    """A failed FHIR interaction: an HTTP status plus the issues that explain it."""

    status: int
    issues: list[Issue] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(i.diagnostics for i in self.issues) or f"HTTP {self.status}"

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.issues)


def error(status: int, code: str, diagnostics: str, expression: str | None = None) -> FhirError:
    """A :class:`FhirError` with one error-severity issue."""
    return FhirError(status, [Issue("error", code, diagnostics, expression)])


def bad_request(diagnostics: str, expression: str | None = None) -> FhirError:
    return error(400, "invalid", diagnostics, expression)


def not_found(diagnostics: str) -> FhirError:
    return error(404, "not-found", diagnostics)


def gone(diagnostics: str) -> FhirError:
    return error(410, "deleted", diagnostics)


def conflict(diagnostics: str) -> FhirError:
    return error(409, "conflict", diagnostics)


def precondition_failed(diagnostics: str) -> FhirError:
    return error(412, "conflict", diagnostics)


def unprocessable(issues: list[Issue]) -> FhirError:
    return FhirError(422, issues)
