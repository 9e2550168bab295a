"""The hash chain of the audit log: what each row's hash covers, exactly.

Row ``n`` of ``audit_log`` stores ``prev_hash`` (row ``n - 1``'s hash; 64 zeros for the
first row) and

    hash = sha256(prev_hash + canonical)

where ``prev_hash`` is the 64 hex characters as ASCII and ``canonical`` is the compact
JSON array ``[seq, recorded, patient_id, agent, action, outcome, content]`` (orjson:
no whitespace, UTF-8, ``null`` for no patient). ``content`` is the AuditEvent as stored:
compact JSON with sorted keys. Changing any field of a row, or the order of rows, or
removing or inserting one, changes a hash that a later row or ``audit_head`` depends on.

An auditor can recompute a row with nothing but the row itself (Python)::

    hashlib.sha256(prev_hash.encode() + json.dumps(
        [seq, recorded, patient_id, agent, action, outcome, content],
        separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()

The chain proves that the rows are the ones written, in order, only to someone who holds
a later hash from elsewhere: whoever can write the table can also recompute every hash
after a change. ``audit_head`` (and ``verify --anchor``, with a head noted outside the
database) closes that gap; see ``audit/verify.py``.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any, Final

import orjson

GENESIS: Final = "0" * 64
"""The ``prev_hash`` of the first row."""


def canonical_content(event: dict[str, Any]) -> str:
    """The AuditEvent as stored and hashed: compact JSON, keys sorted, decimals exact."""
    return orjson.dumps(event, default=_exact_decimal, option=orjson.OPT_SORT_KEYS).decode()


def row_hash(
    prev_hash: str,
    seq: int,
    recorded: str,
    patient_id: str | None,
    agent: str,
    action: str,
    outcome: str,
    content: str,
) -> str:
    """The hash of one row, chained to ``prev_hash`` (the previous row's hash)."""
    material = orjson.dumps([seq, recorded, patient_id, agent, action, outcome, content])
    return hashlib.sha256(prev_hash.encode("ascii") + material).hexdigest()


def _exact_decimal(obj: Any) -> Any:
    # FHIR decimals parsed by fhir.jsonio keep their written precision (R4 requires it).
    if isinstance(obj, Decimal):
        return orjson.Fragment(str(obj).encode())
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
