"""The clinician's workspace: server-rendered pages at ``/`` on the guarded repository.

Pages never query the database themselves: every patient datum comes through
:class:`~fellesjournal.service.repository.GuardedRepository` under the signed-in
health worker's actor, exactly as the FHIR API's does (access decision, masking, audit).
"""
