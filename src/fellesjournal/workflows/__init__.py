"""Workflows: nothing that someone must act on disappears silently.

Every piece of work (a referral to assess, a result to acknowledge, a message to read, a
discharge-ready patient to receive, a failed delivery) is a FHIR Task with an owner, a
status, a focus, the patient and a due date where a rule sets one (:mod:`.model`). Writes
of clinical resources start workflows through :mod:`.reactions`, in the writing
transaction; outgoing messages go through the transactional outbox (:mod:`.outbox`) and
are delivered by :mod:`.delivery`; :mod:`.queues` checks that every open item sits in a
monitored queue and summarises the queues for the dashboard.
"""
