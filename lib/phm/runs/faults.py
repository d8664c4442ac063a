"""Named points where a crash test can kill the process (``PHM_KILL_AT=<point>``).

The crash tests (tests/runs/test_crash.py) run real ``phm`` subprocesses and need to die at
exact moments: between two commits, where a timer could never aim. At a point named in
``PHM_KILL_AT`` the process sends itself SIGKILL, which no handler, ``finally`` or atexit hook
survives, exactly like ``kill -9`` from outside. Unset (always, outside those tests) a point
costs one environment lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "PHM_KILL_AT"

# The points, in the order a run or an ingest reaches them.
POINTS = (
    "after_person_year",  # run: working tables written, nothing published
    "after_metadata",  # run: metadata merged, results not yet replaced
    "after_results",  # run: results replaced, computation records and ledger not yet written
    "after_load_target",  # ingest: the source table committed, quarantine and load log not yet
)


def kill_point(name: str) -> None:
    """Die here, as ``kill -9`` would, when ``PHM_KILL_AT`` names this point."""
    assert name in POINTS, name
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
