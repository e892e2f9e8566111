class SendError(Exception):
    """A send that failed. `permanent` tells the caller whether trying again can help."""

    permanent = False

    def __init__(self, message: str, *, code: str | int | None = None):
        super().__init__(message)
        self.code = code


class TemporaryError(SendError):
    permanent = False


class PermanentError(SendError):
    permanent = True
