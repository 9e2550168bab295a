"""The workspace session: who is signed in, in which work context, and its CSRF token.

Kept in Starlette's signed session cookie (``SessionMiddleware``: HttpOnly, Secure,
SameSite=Lax, signed with the server's secret key; nothing secret is in it). The session
expires after ``settings.web_idle_minutes`` without a request: the next page asks to
sign in again. Signing out clears it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

_USER = "user"
_SEEN = "seen"
_CSRF = "csrf"


@dataclass(frozen=True, slots=True)
class WebUser:
    """A signed-in health worker; ``role_id`` is the chosen work context (None: not yet)."""

    hpr: str
    practitioner_id: str
    name: str
    role_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "hpr": self.hpr,
            "practitioner_id": self.practitioner_id,
            "name": self.name,
            "role_id": self.role_id,
        }

    @classmethod
    def from_json(cls, data: Any) -> WebUser | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                str(data["hpr"]),
                str(data["practitioner_id"]),
                str(data["name"]),
                None if data.get("role_id") is None else str(data["role_id"]),
            )
        except KeyError:
            return None


def current_user(request: Request, idle_seconds: float) -> WebUser | None:
    """The signed-in user, or None (never signed in, signed out, or idle too long: then
    the session is cleared). Each call counts as activity."""
    session = request.session
    user = WebUser.from_json(session.get(_USER))
    if user is None:
        return None
    now = time.time()
    seen = session.get(_SEEN)
    if not isinstance(seen, int | float) or now - seen > idle_seconds:
        session.clear()
        return None
    session[_SEEN] = int(now)
    return user


def sign_in(request: Request, user: WebUser) -> None:
    """Start a fresh session for ``user`` (a new CSRF token too: no fixation)."""
    request.session.clear()
    request.session[_USER] = user.to_json()
    request.session[_SEEN] = int(time.time())
    request.session[_CSRF] = secrets.token_urlsafe(32)


def set_user(request: Request, user: WebUser) -> None:
    """Replace the signed-in user's data (e.g. a new work context)."""
    request.session[_USER] = user.to_json()


def sign_out(request: Request) -> None:
    request.session.clear()


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use), for every form's hidden field."""
    token = request.session.get(_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[_CSRF] = token
    return token


def csrf_ok(request: Request, submitted: Any) -> bool:
    """Whether a form's ``csrf`` field matches the session's token."""
    token = request.session.get(_CSRF)
    return (
        isinstance(token, str)
        and isinstance(submitted, str)
        and secrets.compare_digest(token, submitted)
    )


def remember(request: Request, key: str, value: Any) -> None:
    """Keep a small value in the session (the sign-in's state, nonce and verifier)."""
    request.session[key] = value


def take(request: Request, key: str) -> Any:
    """Remove and return a value kept with :func:`remember` (None when absent)."""
    return request.session.pop(key, None)
