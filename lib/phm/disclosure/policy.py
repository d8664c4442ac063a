"""The protection a run applies: the secret behind the record keys and the perturbation table.

The secret must stay the same from run to run: the same persons then get the same noise in
every publication, so re-running, or publishing the same cell twice, never yields two noisy
copies to average. It is never published and never stored in a results table.

Where it comes from, in order:

1. ``PHM_CELL_KEY_SECRET`` (environment): clusters take it from their secret store;
2. ``<warehouse>/_phm/cell_key_secret``, readable by its owner only: created with 256 random
   bits the first time a local warehouse is published, then reused.

A warehouse on an object store without ``PHM_CELL_KEY_SECRET`` is an error: a secret made up
per run would break the consistency above.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from phm.data.warehouse import Warehouse
from phm.disclosure.cell_key import KEY_BITS, PTable
from phm.errors import WarehouseError

SECRET_ENV = "PHM_CELL_KEY_SECRET"
SECRET_FILE = "_phm/cell_key_secret"


@dataclass(frozen=True)
class Protection:
    secret: str
    ptable: PTable = field(default_factory=PTable)

    def describe(self) -> str:
        """What a run records of its protection (never the secret)."""
        return (
            f"cell_key max_noise={self.ptable.max_noise} scale={self.ptable.scale:g} "
            f"key_bits={KEY_BITS}"
        )

    def __repr__(self) -> str:  # never print the secret
        return f"Protection(secret=<hidden>, ptable={self.ptable!r})"


def warehouse_secret(warehouse: Warehouse) -> str:
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV]
    if not warehouse.is_local:
        raise WarehouseError(
            f"set {SECRET_ENV}: the cell-key secret of {warehouse.root} must be "
            "the same for every run (see docs/disclosure.md)"
        )
    path = Path(warehouse.root) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:  # first writer wins, so two concurrent first runs still share one secret
            os.link(tmp, path)
        except FileExistsError:
            pass
        tmp.unlink()
    return path.read_text().strip()


def default_protection(warehouse: Warehouse) -> Protection:
    return Protection(warehouse_secret(warehouse))


REDACTION = "spark.sql.redaction.string.regex"


def redact_in_plans(spark, protection: Protection) -> None:
    """The secret travels in the plan as a literal: have Spark redact it from explain output
    and the SQL tab of its UI (and so from event logs)."""
    secret = re.escape(protection.secret)
    current = spark.conf.get(REDACTION, None)
    if current and secret not in current:
        secret = f"{current}|{secret}"
    spark.conf.set(REDACTION, secret)
