"""Typed errors. Each carries a one-line, user-facing reason (field/where + what is allowed)."""


class SimsvError(Exception):
    """Base class: the CLI prints `error: <message>` and exits 2, without a traceback."""


class ConfigError(SimsvError, ValueError):
    """A config value is unknown or out of range. The message names the field and the allowed range."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")
