"""The mall's double-entry ledger: every movement of value, in integer fen, enforced by
PostgreSQL. Imports no project app but core; the money apps post to it and register what
the nightly check must find (see checks.py)."""
