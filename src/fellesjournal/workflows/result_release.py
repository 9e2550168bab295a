"""Releasing a result to the patient, with a comment (HelsaMi's category 2 and 3).

``release`` adds the ``released`` tag of :data:`~fellesjournal.access.release.RELEASE_SYSTEM`
and the clinician's comment (extension :data:`~fellesjournal.access.release.RELEASE_COMMENT_URL`)
to a DiagnosticReport, through the guarded repository as the clinician (who must be
allowed to change it), so the patient sees it at once with the comment, and the change
is audited. The Observations it lists follow it (``access/release.py``). A result of
category ``never`` is not released electronically (422); releasing again replaces the
comment.
"""

from __future__ import annotations

from typing import Any

from fellesjournal.access import release
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import error
from fellesjournal.service.repository import GuardedRepository

Resource = dict[str, Any]


def category_of(report: Resource) -> str:
    """The release category of a report (:data:`release.CLINICIAN` when untagged)."""
    for tag in (report.get("meta") or {}).get("tag") or ():
        if tag.get("system") == release.RELEASE_SYSTEM and tag.get("code") in release.CATEGORIES:
            return str(tag["code"])
    return release.CLINICIAN


def is_released(report: Resource) -> bool:
    return any(
        tag.get("system") == release.RELEASE_SYSTEM and tag.get("code") == release.RELEASED
        for tag in (report.get("meta") or {}).get("tag") or ()
    )


def comment_of(report: Resource) -> str | None:
    for ext in report.get("extension") or ():
        if ext.get("url") == release.RELEASE_COMMENT_URL and isinstance(
            ext.get("valueString"), str
        ):
            return str(ext["valueString"])
    return None


def release_report(repo: GuardedRepository, report_id: str, comment: str | None) -> Resource:
    """Release ``DiagnosticReport/{report_id}`` to the patient; the new version."""
    stored = repo.read("DiagnosticReport", report_id)
    report: Resource = dict(jsonio.loads(stored.content or "{}"))
    if category_of(report) == release.NEVER:
        raise error(
            422,
            "business-rule",
            "this result is never released electronically (category 'never'); "
            "tell the patient in person",
        )
    meta = dict(report.get("meta") or {})
    tags = [t for t in meta.get("tag") or () if not _is_release_flag(t)]
    tags.append({"system": release.RELEASE_SYSTEM, "code": release.RELEASED, "display": "Frigitt"})
    meta["tag"] = tags
    report["meta"] = meta
    extensions = [
        e for e in report.get("extension") or () if e.get("url") != release.RELEASE_COMMENT_URL
    ]
    if comment:
        extensions.append({"url": release.RELEASE_COMMENT_URL, "valueString": comment})
    if extensions:
        report["extension"] = extensions
    else:
        report.pop("extension", None)
    result = repo.update("DiagnosticReport", report_id, report, if_match=stored.version)
    return dict(jsonio.loads(result.stored.content or "{}"))


def _is_release_flag(tag: Any) -> bool:
    return (
        isinstance(tag, dict)
        and tag.get("system") == release.RELEASE_SYSTEM
        and tag.get("code") == release.RELEASED
    )
