"""A command that writes a warehouse whose lease another live process holds fails at once, naming
the holder, before Spark starts."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from typer.testing import CliRunner

from phm.cli import main
from phm.cli.main import app

runner = CliRunner()


def test_run_on_a_warehouse_held_by_another_process_names_it(tmp_path, monkeypatch):
    root = tmp_path / "wh"
    root.mkdir()
    code = textwrap.dedent(
        f"""
        import time
        from phm.data.warehouse import Warehouse
        from phm.runs.lease import holding

        with holding(Warehouse({str(root)!r}), "simulate", ttl_seconds=30):
            print("holding", flush=True)
            time.sleep(60)
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)

    def no_spark(name):
        raise AssertionError("Spark started on a held warehouse")

    monkeypatch.setattr(main, "_start_spark", no_spark)
    try:
        assert holder.stdout.readline().strip() == "holding"
        result = runner.invoke(app, ["run", "gp_contact_share", "--warehouse", str(root)])
        waited = runner.invoke(
            app, ["run", "gp_contact_share", "--warehouse", str(root), "--wait", "0.5"]
        )
    finally:
        holder.kill()
        holder.wait(10)
    for outcome in (result, waited):
        assert outcome.exit_code == 1, outcome.output
        assert "Traceback" not in outcome.output
        text = " ".join(outcome.output.split())  # rich may wrap long lines
        assert text.startswith("error: warehouse ")
        assert f"in use by `simulate` (pid {holder.pid} on host " in text
        assert "--wait SECONDS" in text
    assert "still held after waiting 0.5 s" in " ".join(waited.output.split())
