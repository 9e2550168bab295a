"""What every workspace page shares: settings, store, the token resolver, the audit sink,
and the step from a signed-in session to a guarded repository.

A page's patient data comes from :meth:`Workspace.repository`: the health worker's
actor, resolved as the FHIR API resolves a practitioner's token (the same work context
rules, the same cache), so the workspace has no side door to the record.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fellesjournal.access.actor import Actor, actor_from_claims
from fellesjournal.access.consents import REASONS
from fellesjournal.access.resolve import ContextResolver
from fellesjournal.audit.sink import AuditSink
from fellesjournal.fhir.errors import FhirError
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from fellesjournal.web.directory import Directory
from fellesjournal.web.render import render
from fellesjournal.web.session import WebUser, current_user, sign_out


class Answered(Exception):
    """The request is answered before its page is built (no usable session or context,
    no access to the patient): the handler returns :attr:`response`."""

    def __init__(self, response: Response) -> None:
        self.response = response


Handler = Callable[[Any, Request], Awaitable[Response]]


def answers(handler: Handler) -> Handler:
    """A page handler that may raise :class:`Answered` anywhere, and whose repository's
    refusals of bad input (400, 422), of the user (403) or of a change to a version
    that is no longer current (409, 412: nothing saved) become pages, not errors."""

    @functools.wraps(handler)
    async def wrapper(self: Any, request: Request) -> Response:
        try:
            return await handler(self, request)
        except Answered as exc:
            return exc.response
        except FhirError as exc:
            if exc.status in (400, 422):
                return render(request, "bad_request.html", status_code=exc.status)
            if exc.status == 403:
                return render(request, "forbidden.html", status_code=403)
            if exc.status in (409, 412):
                return render(request, "conflict.html", status_code=409)
            raise

    return wrapper


def no_access(request: Request, patient_id: str) -> Response:
    """The page for a patient the user may not see (or who does not exist): 404, with
    break-the-glass offered."""
    return render(
        request, "no_access.html", status_code=404, patient_id=patient_id, reasons=list(REASONS)
    )


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
        raises :class:`Answered` redirecting to sign-in or to the context choice."""
        user = current_user(request, self.idle_seconds)
        if user is None:
            raise Answered(RedirectResponse("/signin", status_code=303))
        if context and user.role_id is None:
            raise Answered(RedirectResponse("/context", status_code=303))
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
            raise Answered(RedirectResponse("/signin", status_code=303)) from None

    def repository(self, request: Request, user: WebUser) -> GuardedRepository:
        """The guarded repository of one page request; reads' events go to the sink."""
        return GuardedRepository(
            self.store,
            self.settings,
            RequestContext(actor=self.actor(request, user)),
            sink=self.sink,
        )

    def page_repository(self, request: Request) -> GuardedRepository:
        """The signed-in user's repository for a page in their work context; the page's
        header (user, work context) is set from it."""
        user = self.user(request)
        repo = self.repository(request, user)
        request.state.page = {"user": user, "work": repo.ctx.actor.work}
        return repo

    @staticmethod
    def patient_id(request: Request, repo: GuardedRepository) -> str:
        """The patient in the path, once the user may see them (else the no-access page)."""
        patient_id = str(request.path_params["patient_id"])
        try:
            repo.read("Patient", patient_id)
        except FhirError as exc:
            if exc.status in (404, 410):
                raise Answered(no_access(request, patient_id)) from None
            raise
        return patient_id
