"""What every workspace page shares: settings, store, the token resolver, the audit sink,
and the step from a signed-in session to a guarded repository.

A page's patient data comes from :meth:`Workspace.repository`: the health worker's
actor, resolved as the FHIR API resolves a practitioner's token (the same work context
rules, the same cache), so the workspace has no side door to the record.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fellesjournal.access.actor import Actor, actor_from_claims
from fellesjournal.access.resolve import ContextResolver
from fellesjournal.audit.sink import AuditSink
from fellesjournal.fhir.errors import FhirError
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from fellesjournal.web.directory import Directory
from fellesjournal.web.session import WebUser, current_user, sign_out


class NeedsSignIn(Exception):
    """The request has no usable session (or context): answer with :attr:`response`."""

    def __init__(self, response: Response) -> None:
        self.response = response


@dataclass
class Workspace:
    settings: Settings
    store: SqlStore
    resolver: ContextResolver
    sink: AuditSink
    directory: Directory

    @property
    def idle_seconds(self) -> float:
        return self.settings.web_idle_minutes * 60

    def user(self, request: Request, *, context: bool = True) -> WebUser:
        """The signed-in user (with a chosen work context unless ``context=False``);
        raises :class:`NeedsSignIn` redirecting to sign-in or to the context choice."""
        user = current_user(request, self.idle_seconds)
        if user is None:
            raise NeedsSignIn(RedirectResponse("/signin", status_code=303))
        if context and user.role_id is None:
            raise NeedsSignIn(RedirectResponse("/context", status_code=303))
        return user

    def actor(self, request: Request, user: WebUser) -> Actor:
        """The user's actor in their work context, resolved against the stored data
        (a role ended or moved since sign-in ends the session)."""
        claims = {
            "sub": user.hpr,
            "fhir_actor": "practitioner",
            "scope": "user/*.*",
            "fhirUser": f"Practitioner/{user.practitioner_id}",
            "fj_role": f"PractitionerRole/{user.role_id}",
        }
        try:
            return self.resolver.resolve(actor_from_claims(claims, ("user/*.*",)))
        except FhirError:
            sign_out(request)
            raise NeedsSignIn(RedirectResponse("/signin", status_code=303)) from None

    def repository(self, request: Request, user: WebUser) -> GuardedRepository:
        """The guarded repository of one page request; reads' events go to the sink."""
        return GuardedRepository(
            self.store,
            self.settings,
            RequestContext(actor=self.actor(request, user)),
            sink=self.sink,
        )
