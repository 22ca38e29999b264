"""The one domain error type. Services raise it; they never import DRF."""


class DomainError(Exception):
    """A refused operation. `message` is shown to the user (translated lazily); `extra` holds
    what else the answer carries for the client to show (JSON-ready: the problems that refused a
    publication, the saves a stale save missed), beside `detail` and `code`."""

    http_status = 400
    # Set only by a batch that refuses items (dispatch.positions): the errors by item index, read
    # with getattr(error, "errors", None). Declared, not assigned: absent unless set.
    errors: dict[str, object]

    def __init__(self, message, *, code: str = "invalid", http_status: int | None = None,
                 extra: dict | None = None):
        super().__init__(str(message))
        self.message = message
        self.code = code
        self.extra = extra or {}
        if http_status is not None:
            self.http_status = http_status


class TransitionRefused(DomainError):
    """A state change that the incident's flow does not allow now: HTTP 409."""

    http_status = 409

    def __init__(self, message, *, code: str = "refused", http_status: int | None = None,
                 extra: dict | None = None):
        super().__init__(message, code=code, http_status=http_status, extra=extra)


class Forbidden(DomainError):
    """The user's role (or their relation to the case) does not allow this: HTTP 403."""

    http_status = 403

    def __init__(self, message, *, code: str = "forbidden", http_status: int | None = None,
                 extra: dict | None = None):
        super().__init__(message, code=code, http_status=http_status, extra=extra)
