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


class LeaseHeldError(PhmError):
    """Another command holds the warehouse's lease (:mod:`phm.runs.lease`): the message names it
    (operation, pid, host, since when, expiry) and what to do; ``holder`` is its lease."""

    def __init__(self, message: str, holder: object = None) -> None:
        super().__init__(message)
        self.holder = holder


class LeaseLostError(WarehouseError):
    """This command's lease expired and was taken over (it was not renewed in time)."""


class LeaseUnsupportedError(PhmError, NotImplementedError):
    """The warehouse lease needs a local or mounted warehouse (not an object-store URI), for now."""


class StageSchemaError(PhmError):
    """A frame handed from one pass to the next does not have the columns (or the types) its
    declared table (:mod:`phm.publish.tables`) promises: a bug between passes, named by stage."""

    def __init__(
        self, stage: str, table: str, missing: list[str], wrong: dict[str, tuple[str, str]]
    ) -> None:
        self.stage, self.table, self.missing, self.wrong = stage, table, missing, wrong
        parts = []
        if missing:
            parts.append("missing column(s) " + ", ".join(missing))
        if wrong:
            parts.append(
                "wrong type(s) "
                + ", ".join(
                    f"{name} is {got}, declared {want}" for name, (got, want) in wrong.items()
                )
            )
        super().__init__(
            f"stage {stage!r}: the {table!r} frame does not match its declaration: "
            + "; ".join(parts)
        )

    def __reduce__(
        self,
    ) -> tuple[type[StageSchemaError], tuple[str, str, list[str], dict[str, tuple[str, str]]]]:
        # picklable (raised in Spark's Python workers too)
        return type(self), (self.stage, self.table, self.missing, self.wrong)
