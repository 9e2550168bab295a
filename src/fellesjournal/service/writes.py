"""Preparing resources for a write: content checks every write path shares."""

from __future__ import annotations

import re
import uuid
from functools import partial
from typing import Any

from fellesjournal.fhir.errors import FhirError, Issue, bad_request, error
from fellesjournal.fhir.validation import RESOURCE_TYPES, validate_resource
from fellesjournal.norway.addresses import address_issues
from fellesjournal.norway.identifiers import check as check_identifier
from fellesjournal.terminology import coding_issues

ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def new_id() -> str:
    """A server-assigned logical id."""
    return str(uuid.uuid4())


def ensure_type(res_type: str) -> None:
    """404 for a resource type that R4 does not define."""
    if res_type not in RESOURCE_TYPES:
        raise error(404, "not-supported", f"unknown resource type '{res_type}'")


def ensure_id(res_id: str) -> None:
    if not ID_PATTERN.match(res_id):
        raise bad_request(f"'{res_id}' is not a valid resource id")


def check_body(
    body: Any,
    res_type: str,
    res_id: str | None,
    *,
    allow_test_identities: bool,
    validate: bool = True,
) -> dict[str, Any]:
    """Validate a resource body for a write to ``res_type`` (and ``res_id`` for updates).

    400 for the wrong type or a mismatched id, 422 for invalid content (structure,
    Norwegian identifiers' check digits). Returns the resource, meta cleaned of the
    server-owned ``versionId`` and ``lastUpdated``. ``validate=False`` is only for content
    that :func:`content_issues` has already passed (bulk import validates in a worker).
    """
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object holding a resource")
    actual = body.get("resourceType")
    if actual != res_type:
        raise bad_request(
            f"resourceType '{actual}' does not match the URL's '{res_type}'", "resourceType"
        )
    if res_id is not None:
        body_id = body.get("id")
        if body_id is None:
            raise bad_request("an update must carry the resource's id in the body", "id")
        if body_id != res_id:
            raise bad_request(
                f"id '{body_id}' in the body does not match '{res_id}' in the URL", "id"
            )
    if validate:
        issues = content_issues(body, allow_test_identities=allow_test_identities)
        if issues:
            raise FhirError(422, issues)
    meta = body.get("meta")
    if isinstance(meta, dict):
        meta.pop("versionId", None)
        meta.pop("lastUpdated", None)
        if not meta:
            body.pop("meta")
    return body


def content_issues(body: dict[str, Any], *, allow_test_identities: bool) -> list[Issue]:
    """Structure, identifier, address and diagnosis-code problems (empty when valid)."""
    issues = validate_resource(
        body,
        identifier_check=partial(check_identifier, allow_test_identities=allow_test_identities),
    )
    return [*issues, *address_issues(body), *coding_issues(body)]


def invalid(diagnostics: str, expression: str | None = None) -> FhirError:
    return FhirError(422, [Issue("error", "invalid", diagnostics, expression)])
