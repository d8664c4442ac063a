"""phm against the analyst's DuckDB script, whole process against whole process (issue 14).

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/bench_peer.py --warehouse /tmp/wh20k --warehouse /tmp/wh100k \
        [--years 2024] [--json out.json]

For each warehouse (read only: phm runs on a copy under --scratch), side by side:

- **peer**: ``benchmarks/peer_duckdb.py`` (six Atlas indicators' numerators and denominators
  for every geography level and breakdown, crude, no disclosure control) as a process;
- **phm**: ``phm run --full --no-gate`` of the same six indicators as a process: JVM start,
  person-year table, cube, statistics, standardisation, disclosure control and the Delta
  publication, everything a published run does;

and the ratio phm / peer. Several sizes show where the gap closes: the peer's time grows with
the rows, phm's fixed cost (JVM, one Spark job per stage, Delta commits) does not. Prints the
load average before each process so contended figures can be spotted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from peer_duckdb import INDICATORS as SIX  # noqa: E402  the peer's six indicators, as it names them


def _timed(cmd: list[str]) -> dict:
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return {"seconds": round(seconds, 2), "load_before": round(load, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--warehouse", action="append", required=True, type=Path)
    parser.add_argument("--years", help="e.g. 2024 or 2022-2024 (default: every year)")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/phm-bench-peer"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    years = ["--years", args.years] if args.years else []
    python, phm = sys.executable, str(Path(sys.executable).with_name("phm"))
    out = []
    print(f"machine: {os.cpu_count()} cores")
    for wh in args.warehouse:
        copy = args.scratch / wh.name
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(wh, copy)
        peer = _timed([python, "benchmarks/peer_duckdb.py", "--warehouse", str(wh), *years])
        run = _timed([phm, "run", "--warehouse", str(copy), *SIX, *years, "--full", "--no-gate"])
        shutil.rmtree(copy, ignore_errors=True)
        persons = json.loads((wh / "_phm" / "state.json").read_text()).get("persons")
        row = {"warehouse": str(wh), "persons": persons, "peer": peer, "phm": run}
        row["ratio"] = round(run["seconds"] / peer["seconds"], 1)
        out.append(row)
        print(
            f"{wh} ({persons:,} persons): peer {peer['seconds']} s (load {peer['load_before']}), "
            f"phm run {run['seconds']} s (load {run['load_before']}): {row['ratio']}x"
        )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
