"""The workspace's routes, its session middleware and its static files.

Mounted by ``fellesjournal.app.create_app`` beside ``/fhir``: ``/`` and below for the
workspace, ``/auth/authorize`` for the built-in issuer's sign-in page, ``/static`` for
the assets (served by the application itself: hospital networks are closed, nothing
comes from a CDN).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from fellesjournal.web.allergies import AllergyPages
from fellesjournal.web.critical_info import CriticalInfoPages
from fellesjournal.web.diagnoses import DiagnosisPage
from fellesjournal.web.home import Home
from fellesjournal.web.issuer_page import IssuerPage
from fellesjournal.web.medication_changes import MedicationChangePages
from fellesjournal.web.medications import MedicationPages
from fellesjournal.web.notes import NotePages
from fellesjournal.web.patients import Patients
from fellesjournal.web.queues import QueuePages
from fellesjournal.web.review import ReviewPages
from fellesjournal.web.signin import SignIn
from fellesjournal.web.vitals import VitalsPage
from fellesjournal.web.workspace import Workspace

STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "fj_session"


class Assets(StaticFiles):
    """Static files with a cache lifetime of their own (they hold no patient data) and
    the security headers the rest of the application sets."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_cache(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"cache-control", b"private, max-age=3600"),
                ]
            await send(message)

        await super().__call__(scope, receive, with_cache)


def workspace_routes(ws: Workspace) -> list[BaseRoute]:
    home, patients, signin, issuer = Home(ws), Patients(ws), SignIn(ws), IssuerPage(ws)
    review, vitals, diagnoses = ReviewPages(ws), VitalsPage(ws), DiagnosisPage(ws)
    medications = MedicationPages(ws)
    allergies, critical = AllergyPages(ws), CriticalInfoPages(ws)
    med_changes = MedicationChangePages(ws)
    notes = NotePages(ws)
    queues = QueuePages(ws)
    return [
        Route("/", home.page),
        Route("/signin", signin.start),
        Route("/signin/callback", signin.callback),
        Route("/context", signin.context, methods=["GET", "POST"]),
        Route("/signout", signin.signout, methods=["POST"]),
        Route("/language", signin.language, methods=["POST"]),
        Route("/patients", patients.search),
        Route("/patients/suggest", patients.suggest),
        Route("/patients/break-glass", patients.break_glass, methods=["POST"]),
        Route("/patients/{patient_id}", patients.overview),
        Route("/patients/{patient_id}/access", patients.explain),
        Route("/patients/{patient_id}/vitals", vitals.page, methods=["GET", "POST"]),
        Route("/patients/{patient_id}/diagnoses", diagnoses.page, methods=["GET", "POST"]),
        Route(
            "/patients/{patient_id}/medications/{statement_id}/stop",
            medications.stop,
            methods=["GET", "POST"],
        ),
        Route("/patients/{patient_id}/allergies", allergies.add, methods=["GET", "POST"]),
        Route(
            "/patients/{patient_id}/allergies/{allergy_id}/end",
            allergies.end,
            methods=["GET", "POST"],
        ),
        Route("/patients/{patient_id}/critical-information", critical.add, methods=["GET", "POST"]),
        Route(
            "/patients/{patient_id}/critical-information/{flag_id}/end",
            critical.end,
            methods=["GET", "POST"],
        ),
        Route("/patients/{patient_id}/medications/new", med_changes.new, methods=["GET", "POST"]),
        Route(
            "/patients/{patient_id}/medications/{statement_id}/dose",
            med_changes.dose,
            methods=["GET", "POST"],
        ),
        Route("/patients/{patient_id}/notes/new", notes.new, methods=["GET", "POST"]),
        Route("/patients/{patient_id}/notes/{note_id}", notes.note, methods=["GET", "POST"]),
        Route(
            "/patients/{patient_id}/notes/{note_id}/entered-in-error",
            notes.entered_in_error,
            methods=["GET", "POST"],
        ),
        Route("/queues", queues.queue),
        Route("/queues/dashboard", queues.dashboard),
        Route("/queues/items/{task_id}", queues.item),
        Route("/queues/items/{task_id}/take", queues.take, methods=["POST"]),
        Route("/queues/items/{task_id}/release", queues.release, methods=["POST"]),
        Route("/queues/items/{task_id}/close", queues.close, methods=["POST"]),
        Route("/queues/items/{task_id}/assess", queues.assess, methods=["POST"]),
        Route("/queues/items/{task_id}/reply", queues.reply, methods=["POST"]),
        Route("/queues/items/{task_id}/share", queues.share, methods=["POST"]),
        Route("/review", review.queue),
        Route("/review/mark", review.mark, methods=["POST"]),
        Route("/auth/authorize", issuer.authorize, methods=["GET", "POST"]),
        Mount("/static", app=Assets(directory=STATIC), name="static"),
    ]


def session_middleware(secret_key: str) -> Middleware:
    """Signed session cookie: HttpOnly, Secure, SameSite=Lax, no fixed lifetime (the
    idle timeout is enforced on every request, ``session.py``)."""
    return Middleware(
        SessionMiddleware,
        secret_key=secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=None,
        same_site="lax",
        https_only=True,
    )
