"""The access decision: default deny.

Every read and write asks :func:`decide` through the guarded repository. Today only
system clients (import, export, workers, and the demo's operator) are allowed; health
workers' care-relation rules and citizens' own-record access are added here, and only
here, so that every entry point gets them at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from fellesjournal.access.actor import Actor

ACTIONS = frozenset(
    {"read", "vread", "search", "history", "create", "update", "patch", "delete", "operation"}
)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str


def _scope_allows(actor: Actor, action: str, res_type: str | None) -> bool:
    write = action in ("create", "update", "patch", "delete")
    for scope in actor.scopes:
        context, _, rest = scope.partition("/")
        if context != "system":
            continue
        stype, _, perm = rest.partition(".")
        if stype not in ("*", res_type or "*"):
            continue
        if perm in ("*", "write" if write else "read") or (
            perm and set(perm) <= set("cruds") and _v2_allows(perm, action)
        ):
            return True
    return False


def _v2_allows(perm: str, action: str) -> bool:
    needed = {
        "create": "c",
        "read": "r",
        "vread": "r",
        "update": "u",
        "patch": "u",
        "delete": "d",
        "search": "s",
        "history": "r",
        "operation": "r",
    }[action]
    return needed in perm


def decide(*, actor: Actor, action: str, res_type: str | None) -> Decision:
    """May ``actor`` perform ``action`` on resources of ``res_type``? Default deny."""
    if action not in ACTIONS:
        return Decision(False, f"unknown action {action}")
    if actor.is_system:
        if _scope_allows(actor, action, res_type):
            return Decision(True, "system client with a matching scope")
        return Decision(False, "the token's scopes do not cover this")
    return Decision(False, "no access rule grants this actor access")
