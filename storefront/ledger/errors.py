"""Stable error codes of the ledger. A refused posting is a bug in the money app that
asked for it; the codes let that app's tests assert exactly which rule it broke."""

from core.errors import Conflict, InvalidInput, NotFound


class EntryInvalid(InvalidInput):
    code = "ledger_entry_invalid"
    default_message = "This journal entry is not valid."


class EntryUnbalanced(EntryInvalid):
    code = "ledger_entry_unbalanced"
    default_message = "The legs of a journal entry must sum to zero."


class UnknownAccount(InvalidInput):
    code = "ledger_unknown_account"
    default_message = "No such ledger account."


class SourceKeyReused(Conflict):
    """The (source, source_key) was already posted with other money: a replay must ask for
    exactly what the first posting did."""

    code = "ledger_source_key_reused"
    default_message = "This source key was already posted with different legs."


class AccountNotFound(NotFound):
    code = "ledger_account_not_found"
    default_message = "No such ledger account."
