"""The ``fellesjournal`` command line: serve, db, import, token, id, demo.

Errors are one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fellesjournal.cli.audit import audit_app
from fellesjournal.cli.common import err
from fellesjournal.cli.common import fail as _fail
from fellesjournal.cli.common import progress as progress_bar
from fellesjournal.cli.common import settings as _settings
from fellesjournal.cli.common import store as _store
from fellesjournal.cli.common import system_repo as _system_repo
from fellesjournal.cli.demo import demo_app
from fellesjournal.cli.mpi import mpi_app
from fellesjournal.cli.org import org_app
from fellesjournal.cli.referrals import referrals_app
from fellesjournal.cli.workflows import outbox_app, queues_app

if TYPE_CHECKING:
    from fellesjournal.access.actor import Actor
    from fellesjournal.settings import Settings

app = typer.Typer(
    help="Fellesjournal: one shared patient record on FHIR R4.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
id_app = typer.Typer(help="Norwegian identifiers.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(id_app, name="id")
app.add_typer(demo_app, name="demo")
app.add_typer(mpi_app, name="mpi")
app.add_typer(org_app, name="org")
app.add_typer(audit_app, name="audit")
app.add_typer(queues_app, name="queues")
app.add_typer(outbox_app, name="outbox")
app.add_typer(referrals_app, name="referrals")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
) -> None:
    """Serve the FHIR API (and, later, the workspace and the portal)."""
    import os

    import uvicorn

    settings = _settings()
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    os.environ["FELLESJOURNAL_HOST"] = host
    os.environ["FELLESJOURNAL_PORT"] = str(port)
    _store(settings).dispose()  # refuse to start on an unknown schema
    err.print(f"Fellesjournal on http://{host}:{port}/fhir ({workers} worker(s))")
    uvicorn.run(
        "fellesjournal.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations (idempotent)."""
    from fellesjournal.store.engine import create_engine
    from fellesjournal.store.migrate import upgrade

    settings = _settings()
    engine = create_engine(settings.database_url)
    try:
        upgrade(engine)
    except Exception as exc:  # noqa: BLE001 - one line, not a traceback
        raise _fail(f"migration failed: {str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()
    err.print("database is up to date")


@app.command("import")
def import_(paths: Annotated[list[Path], typer.Argument(help="Files or folders.")]) -> None:
    """Load Bundles and NDJSON (.json, .json.bz2, .ndjson) with progress."""
    from fellesjournal.service.importer import FileResult, discover, run_import

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise _fail(f"no such file or folder: {', '.join(missing)}")
    settings = _settings()
    repo = _system_repo(settings)
    files = discover(paths)
    if not files:
        raise _fail("no .json, .json.bz2 or .ndjson files found")
    started = time.perf_counter()
    count = 0
    with progress_bar() as progress:
        task = progress.add_task("importing", total=sum(f.stat().st_size for f in files))

        def report(res: FileResult) -> None:
            nonlocal count
            count += res.resources
            if res.error:
                progress.console.print(
                    f"[red]failed[/red] {res.path}: {res.error}", highlight=False
                )
            rate = count / max(time.perf_counter() - started, 1e-9)
            progress.update(
                task,
                advance=res.path.stat().st_size,
                description=f"{count:,} resources, {rate:,.0f}/s",
            )

        try:
            summary = run_import(repo, files, report)
        except Exception as exc:  # noqa: BLE001 - a database failure: one line, exit 1
            raise _fail(f"import stopped: {str(exc).splitlines()[0]}") from None
    elapsed = time.perf_counter() - started
    ok = len(files) - len(summary.failed)
    err.print(
        f"imported {summary.resources:,} resources from {ok} of {len(files)} files in "
        f"{elapsed:.1f} s ({summary.resources / max(elapsed, 1e-9):,.0f} resources/s)"
    )
    if summary.failed:
        raise typer.Exit(1)


@app.command()
def token(
    system: Annotated[bool, typer.Option("--system", help="Full system access.")] = False,
    practitioner: Annotated[
        str | None, typer.Option(help="HPR-nummer of a health worker (needs --role).")
    ] = None,
    role: Annotated[
        str | None, typer.Option(help="PractitionerRole id: the health worker's work context.")
    ] = None,
    patient: Annotated[
        str | None, typer.Option(help="Fødselsnummer or D-nummer of a citizen.")
    ] = None,
    on_behalf_of: Annotated[
        str | None,
        typer.Option(
            "--on-behalf-of",
            help="With --patient: the fødselsnummer of the person they act for "
            "(a parent's child, or a fullmakt's grantor).",
        ),
    ] = None,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 3600,
    protected_addresses: Annotated[
        bool,
        typer.Option(
            "--protected-addresses", help="May see fortrolig and strengt fortrolig addresses."
        ),
    ] = False,
) -> None:
    """Print a token from the built-in issuer (demo and tests).

    Exactly one of --system, --practitioner HPR --role PRACTITIONERROLE_ID, or
    --patient FNR. Health workers' and citizens' tokens are checked against the stored
    data first (the role exists, is active and is theirs; one standing Patient holds
    the number), and again by the server on every request.
    """
    from fellesjournal.access.actor import PROTECTED_ADDRESSES, Actor
    from fellesjournal.access.context import CitizenContext
    from fellesjournal.access.resolve import (
        NotResolved,
        check_hpr,
        find_patient,
        person_system,
        repo_reader,
        work_context,
    )
    from fellesjournal.auth.issuer import issue_patient_token, issue_practitioner_token
    from fellesjournal.auth.tokens import issue_system_token

    settings = _settings()
    if not settings.issuer_enabled:
        raise _fail("the built-in issuer is disabled (FELLESJOURNAL_ISSUER_ENABLED=false)")
    if ttl <= 0:
        raise _fail("--ttl must be a positive number of seconds")
    if system + (practitioner is not None) + (patient is not None) != 1:
        raise _fail(
            "say which token: exactly one of --system, --practitioner HPR --role ID, --patient FNR"
        )
    if role is not None and practitioner is None:
        raise _fail("--role goes with --practitioner")
    permissions = (PROTECTED_ADDRESSES,) if protected_addresses else ()
    if system:
        typer.echo(issue_system_token(settings, ttl=ttl, permissions=permissions))
        return
    try:
        if practitioner is not None:
            hpr = practitioner.strip()
            if not role or not role.strip():
                raise _fail("--practitioner needs --role PRACTITIONERROLE_ID")
            check_hpr(hpr)  # before opening the database
            work = work_context(repo_reader(_system_repo(settings)), hpr=hpr, role_id=role.strip())
            issued = issue_practitioner_token(
                settings, hpr, work.role_id, work.practitioner_id, ttl, permissions
            )
            _audit_login(settings, Actor("practitioner", hpr, work=work))
            typer.echo(issued)
            return
        assert patient is not None
        if protected_addresses:
            raise _fail("--protected-addresses is for --system and --practitioner tokens")
        fnr = patient.strip()
        number_system = person_system(fnr, allow_test_identities=settings.allow_test_identities)
        if on_behalf_of is not None:
            typer.echo(_proxy_token(settings, fnr, on_behalf_of.strip(), ttl))
            return
        patient_id = find_patient(_system_repo(settings), fnr, number_system)
        issued = issue_patient_token(settings, fnr, patient_id, ttl)
        _audit_login(settings, Actor("patient", fnr, citizen=CitizenContext(fnr, patient_id)))
        typer.echo(issued)
    except NotResolved as exc:
        raise _fail(str(exc)) from None


def _proxy_token(settings: Settings, fnr: str, represented: str, ttl: int) -> str:
    """A token for ``fnr`` acting for the person with the number ``represented``; the
    representation must hold now (raises NotResolved / exits 1 otherwise)."""
    from fellesjournal.access.actor import Actor
    from fellesjournal.access.resolve import ContextResolver, find_patient, person_system
    from fellesjournal.auth.issuer import issue_patient_token
    from fellesjournal.fhir.errors import FhirError

    system = person_system(represented, allow_test_identities=settings.allow_test_identities)
    patient_id = find_patient(_system_repo(settings), represented, system)
    store = _store(settings)
    try:
        citizen = ContextResolver(store, settings).proxy_context(fnr, patient_id)
    except FhirError as exc:
        raise _fail(str(exc).removeprefix("the token's identity does not hold: ")) from None
    finally:
        store.dispose()
    _audit_login(settings, Actor("patient", fnr, citizen=citizen))
    return issue_patient_token(settings, fnr, patient_id, ttl, on_behalf_of=True)


def _audit_login(settings: Settings, actor: Actor) -> None:
    """Record a health worker's or citizen's sign-in in the audit log."""
    from fellesjournal.audit import log
    from fellesjournal.audit.events import login_event

    store = _store(settings)
    try:
        with store.transaction() as tx:
            log.append(tx, [login_event(actor)])
    finally:
        store.dispose()


@id_app.command("check")
def id_check(number: str) -> None:
    """Say what kind of Norwegian identifier NUMBER is and whether it is valid."""
    from fellesjournal.norway.identifiers import classify

    info = classify(number.strip(), allow_test_identities=_settings().allow_test_identities)
    if info.valid:
        born = f", born {info.birth_date.isoformat()}" if info.birth_date else ""
        typer.echo(f"{number}: valid {info.kind}{born}")
        return
    raise _fail(f"{number}: not valid ({info.kind}): {info.reason}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
