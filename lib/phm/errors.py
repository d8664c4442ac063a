"""The few exception types a user can meet; the CLI prints them without a traceback."""

from __future__ import annotations


class PhmError(Exception):
    """Base class: a problem the user can fix (bad argument, missing table, no network...)."""


class SetupError(PhmError):
    """The environment is not ready: Java missing, Delta jars unreachable, ..."""


class WarehouseError(PhmError):
    """The warehouse is missing, incomplete or inconsistent with what was asked."""


class InputError(PhmError):
    """A command-line value or a parameter is out of its allowed range."""
