"""The request context: built once per request and passed down explicitly."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from fellesjournal.access.actor import Actor


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Who asks, under which request id, and how strictly unknown parameters are treated."""

    actor: Actor
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    strict: bool = False
    """``Prefer: handling=strict``: unknown search parameters answer 400."""
    audited: bool = True
    """False only for the infrastructure's own lookups (resolving a citizen's token),
    which disclose nothing to anyone."""
    workflows: bool = True
    """False when loading history (``fellesjournal import``, the demo seed): writes start
    no workflows (``workflows/reactions.py``)."""
    workflow_depth: int = 0
    """How deep in reactions to reactions this context writes (0: the caller's own)."""
