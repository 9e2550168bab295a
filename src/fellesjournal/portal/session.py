"""The portal's session record: which citizen is signed in and for whom they act.

Kept in the same signed session cookie as the workspace (``web/session.py``), under keys
of its own, so signing in to or out of the portal leaves a workspace session in the same
browser alone (and the other way round). Nothing secret is in it. The portal session
expires after ``settings.web_idle_minutes`` without a request, as the workspace's does.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import Request

_USER = "portal_user"
_SEEN = "portal_seen"
_CSRF = "csrf"  # shared with the workspace: web/session.py's csrf_token and csrf_ok


@dataclass(frozen=True, slots=True)
class PortalUser:
    """A signed-in citizen.

    ``patient_id`` is their own Patient (None: no record holds their number, e.g. a
    parent or a fullmakt holder who has never been a patient here); ``acting_for`` the
    patient chosen (their own or someone they represent; None: not chosen yet) and
    ``acting_name`` that patient's name for the header.
    """

    fnr: str
    name: str
    patient_id: str | None = None
    acting_for: str | None = None
    acting_name: str = ""

    @property
    def for_self(self) -> bool:
        return self.acting_for is not None and self.acting_for == self.patient_id

    def acting(self, patient_id: str, name: str) -> PortalUser:
        return replace(self, acting_for=patient_id, acting_name=name)

    def to_json(self) -> dict[str, Any]:
        return {
            "fnr": self.fnr,
            "name": self.name,
            "patient_id": self.patient_id,
            "acting_for": self.acting_for,
            "acting_name": self.acting_name,
        }

    @classmethod
    def from_json(cls, data: Any) -> PortalUser | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                str(data["fnr"]),
                str(data["name"]),
                _optional(data.get("patient_id")),
                _optional(data.get("acting_for")),
                str(data.get("acting_name") or ""),
            )
        except KeyError:
            return None


def _optional(value: Any) -> str | None:
    return None if value is None else str(value)


def current_citizen(request: Request, idle_seconds: float) -> PortalUser | None:
    """The signed-in citizen, or None (never signed in, signed out, or idle too long:
    then the portal's part of the session is dropped). Each call counts as activity."""
    session = request.session
    user = PortalUser.from_json(session.get(_USER))
    if user is None:
        return None
    now = time.time()
    seen = session.get(_SEEN)
    if not isinstance(seen, int | float) or now - seen > idle_seconds:
        sign_out(request)
        return None
    session[_SEEN] = int(now)
    return user


def sign_in(request: Request, user: PortalUser) -> None:
    """Start the portal session of ``user`` with a new CSRF token (no fixation)."""
    request.session[_USER] = user.to_json()
    request.session[_SEEN] = int(time.time())
    request.session[_CSRF] = secrets.token_urlsafe(32)


def set_citizen(request: Request, user: PortalUser) -> None:
    """Replace the signed-in citizen's record (e.g. a new choice of whom to act for)."""
    request.session[_USER] = user.to_json()


def sign_out(request: Request) -> None:
    """End the portal session (a workspace session in the same browser stays)."""
    request.session.pop(_USER, None)
    request.session.pop(_SEEN, None)
