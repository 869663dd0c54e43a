"""User-facing errors.

Every error a user can cause by what they typed or pointed at is a ``TunegateError``; the CLI prints
its message on one line, without a traceback, and exits with ``exit_code``::

    TunegateError                 exit 2  (usage / configuration)
    ├── ConfigError               a suite, task file or option is malformed
    │   └── SuiteError            a suite YAML failed validation (names file, key, allowed keys)
    ├── UnknownNameError          a registry lookup failed ("did you mean ...?")
    ├── ModelSpecError            a model spec string cannot be parsed or resolved
    ├── DataError                 a dataset file is missing or a row is unreadable
    ├── StoreError                the database URL cannot be opened or migrated
    ├── BackendError              a backend failed (endpoint timed out, returned errors, ...)
    └── DependencyError           an optional dependency is missing (message has the pip line)

Programming errors (bugs) are never wrapped: they keep their traceback.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "ConfigError",
    "DataError",
    "DependencyError",
    "ModelSpecError",
    "StoreError",
    "SuiteError",
    "TunegateError",
    "UnknownNameError",
]


class TunegateError(Exception):
    """Base class of errors caused by the user's input or environment."""

    exit_code: int = 2


class ConfigError(TunegateError):
    """A configuration value, suite or task file is malformed."""


class SuiteError(ConfigError):
    """A suite file failed validation."""


class UnknownNameError(TunegateError):
    """A name is not registered; the message suggests close matches."""


class ModelSpecError(TunegateError):
    """A model spec is malformed or points at something that does not exist."""


class DataError(TunegateError):
    """A dataset file is missing, or a row of it cannot be read."""


class StoreError(TunegateError):
    """The result store cannot be opened, connected to or migrated."""


class BackendError(TunegateError):
    """A model backend failed in a way the user must act on."""


class DependencyError(TunegateError):
    """An optional dependency is not installed."""
