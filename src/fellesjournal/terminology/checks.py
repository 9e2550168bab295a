"""The write check: codes from ICD-10-NO and ICPC-2 in ``Condition.code`` must exist.

Contract: :func:`coding_issues` returns one error :class:`Issue` (code ``code-invalid``)
per ``Condition.code.coding`` whose ``system`` is ICD-10-NO or ICPC-2 (canonical URL or an
alias) and whose ``code`` is not in that code list; an empty list otherwise, and for any
other resource type. Codings of other systems, and malformed codings, are left to the
structure validation. An ICD-10 code written with a dot (``A00.0``) is accepted, as in
:func:`~fellesjournal.terminology.operations.lookup`. Display texts are not checked: a
clinician's own wording is allowed. Cheap: a dict lookup per coding, and the code lists
are loaded only when a resource actually uses one of the two systems.
"""

from __future__ import annotations

from typing import Any

from fellesjournal.fhir.errors import Issue
from fellesjournal.terminology.codesystems import loaded
from fellesjournal.terminology.systems import canonical_code, system_info


def coding_issues(resource: dict[str, Any]) -> list[Issue]:
    """Unknown ICD-10-NO / ICPC-2 codes in ``Condition.code`` (see the module docstring)."""
    if resource.get("resourceType") != "Condition":
        return []
    code = resource.get("code")
    codings = code.get("coding") if isinstance(code, dict) else None
    if not isinstance(codings, list):
        return []
    issues: list[Issue] = []
    for i, coding in enumerate(codings):
        if not isinstance(coding, dict):
            continue
        system, value = coding.get("system"), coding.get("code")
        info = system_info(system) if isinstance(system, str) else None
        if info is None or not isinstance(value, str):
            continue
        if canonical_code(info, value) not in loaded(info).by_code:
            issues.append(
                Issue(
                    "error",
                    "code-invalid",
                    f"'{value}' is not a code of {system} ({info.title})",
                    f"Condition.code.coding[{i}].code",
                )
            )
    return issues
