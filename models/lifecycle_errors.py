"""Errors of the order-lifecycle service, in domain words (no HTTP here).

Each names what went wrong so ``api/`` can map it to one RFC 9457 problem:
the class decides the status code, the attributes fill the extension members.
"""

from dataclasses import dataclass

from models.errors import DomError


@dataclass(frozen=True)
class FieldError:
    """One bad input field: a dotted path (``lines.0.qty``) and why."""

    field: str
    message: str


class InvalidInput(DomError):
    """The request is well formed but breaks a business rule; nothing was written."""

    def __init__(self, errors: list[FieldError], title: str = "invalid input") -> None:
        self.errors = errors
        self.title = title
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors) or title)


class NotFound(DomError):
    """The resource asked for does not exist (or the caller may not see it)."""


class Conflict(DomError):
    """The request clashes with the current state of the resource."""


class IllegalTransition(Conflict):
    """An order (or work item) cannot do this from its current state."""

    def __init__(self, subject: str, current: str, action: str, allowed_from: list[str]) -> None:
        self.subject, self.current, self.action = subject, current, action
        self.allowed_from = allowed_from
        super().__init__(
            f"{subject} is '{current}'; cannot {action} (allowed from: {', '.join(allowed_from)})"
        )


class OutOfStock(Conflict):
    """Not enough available stock and the caller refused a backorder."""

    def __init__(
        self, message: str, skus: list[str], shortfall: list[dict[str, object]] | None = None
    ) -> None:
        self.skus = skus
        # Per line: line_no, sku, qty ordered and units available to it, when known.
        self.shortfall = shortfall or []
        super().__init__(message)


class IdempotencyMismatch(Conflict):
    """An Idempotency-Key was reused with a different request body."""


class PreconditionFailed(DomError):
    """If-Match named a version that is no longer current."""


class PreconditionRequired(DomError):
    """A change needs If-Match and none was given."""


class Unauthenticated(DomError):
    """No (valid) API key."""


class Forbidden(DomError):
    """The caller's role may not do this."""


class Busy(DomError):
    """Too much contention right now; nothing was written, retry shortly."""


class WriteConflict(Busy):
    """A concurrent writer moved what this transaction decided on.

    ``Database.write`` rolls back and runs the work again; only if every attempt
    conflicts does the caller see it (as Busy: retry shortly).
    """
