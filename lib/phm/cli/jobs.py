"""What the ``jobs/`` spark-submit entry points share: error handling and plain progress lines.

Jobs log plain timestamped lines (cluster logs are not terminals) and exit with the CLI's codes:
1 for a user error (:class:`phm.errors.PhmError`, printed without a traceback), 2 for violations.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from phm.errors import PhmError


def log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} phm: {message}", flush=True)


def run(main: Callable[[], int]) -> None:
    """Run a job's ``main`` and exit with its status; PhmError exits 1 with its message only."""
    try:
        status = main()
    except PhmError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        status = 1
    finally:
        from phm.spark import stop_spark

        stop_spark()  # no-op under spark-submit, where the launcher owns the session
    sys.exit(status)
