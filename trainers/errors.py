"""Trainer errors: ConfigError subclasses, so the CLI prints one line (`error: model.path: ...`)."""

from simsv_stream.errors import ConfigError


class ModelNotFoundError(ConfigError):
    """The model path/hub id does not resolve to a loadable transformers checkpoint."""


class UnknownModelFamilyError(ConfigError):
    """The checkpoint's model_type (or a requested family) is not one the trainer supports."""


class CollateError(ConfigError):
    """A sample cannot be turned into model inputs (answer not found in the rendered chat, ...)."""
