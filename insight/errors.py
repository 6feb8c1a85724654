"""Errors a person can act on."""


class InputError(ValueError):
    """Bad input: the message says what is wrong and what to do. The CLI prints it and exits with 2."""


class RunError(RuntimeError):
    """A run on disk that cannot be used (missing, incomplete, corrupt or tampered with)."""
