"""Repositories: the only code that talks to AWS. One per table (events, users, registrations,
waitlist), plus the reconciliation's reads and repair and the lookups that dress up lists; what
they share lives in one place each: the client, paging and batched reads (dynamo), AWS failures
turned into the project's errors and the retries (failures), keys and the event-liveness
conditions (keys), and the pieces of the transactions that span tables (transactions)."""
