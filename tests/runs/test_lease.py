"""The warehouse lease: one holder at a time, taken over only once expired, never released by
another holder, kept alive by its heartbeat (no Spark: short ttls, a few seconds in all)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace

import pytest

import phm.runs.lease as lease_module
from phm.data.warehouse import Warehouse
from phm.errors import LeaseHeldError, LeaseLostError, LeaseUnsupportedError, PhmError
from phm.runs.lease import Holder, acquire, holding, lease_path


@pytest.fixture
def wh(tmp_path) -> Warehouse:
    return Warehouse.at(tmp_path / "wh")


def holder_process(
    wh: Warehouse,
    *,
    ttl: float,
    start_at: float = 0.0,
    flock: bool = True,
    host: str | None = None,
) -> subprocess.Popen:
    """A process that tries the lease at ``start_at`` (epoch seconds), prints ``won <pid>`` or
    ``held``, then sleeps (holding it, without renewal, when it won); without ``flock``, with the
    file operations alone; with ``host``, as if it ran on that host."""
    code = textwrap.dedent(
        f"""
        import contextlib, os, socket, sys, time
        import phm.runs.lease
        from phm.data.warehouse import Warehouse
        from phm.errors import LeaseHeldError
        from phm.runs.lease import acquire

        if not {flock!r}:
            phm.runs.lease._mutex = lambda path: contextlib.nullcontext()
        if {host!r} is not None:
            socket.gethostname = lambda: {host!r}

        time.sleep(max(0.0, {start_at!r} - time.time()))
        try:
            acquire(Warehouse({wh.root!r}), "run", ttl_seconds={ttl!r})
        except LeaseHeldError:
            print("held", flush=True)
            sys.exit(0)
        print("won", os.getpid(), flush=True)
        time.sleep(60)
        """
    )
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def test_acquire_then_release(wh):
    lease = acquire(wh, "run")
    written = json.loads(lease_path(wh).read_text())
    assert written["operation"] == "run" and written["pid"] == os.getpid()
    assert written["host"] == socket.gethostname() and written["token"] == lease.holder.token
    assert Holder.from_json(lease_path(wh).read_text()) == lease.holder
    lease.release()
    assert not lease_path(wh).exists()
    acquire(wh, "simulate").release()  # free again


def test_a_second_acquire_fails_naming_the_holder(wh):
    lease = acquire(wh, "simulate", ttl_seconds=30)
    with pytest.raises(LeaseHeldError) as caught:
        acquire(wh, "run")
    message = str(caught.value)
    for fragment in (
        wh.root,
        "`simulate`",
        f"pid {os.getpid()}",
        socket.gethostname(),
        "since ",
        "expires ",
        "--wait SECONDS",
    ):
        assert fragment in message
    assert isinstance(caught.value, PhmError) and caught.value.holder == lease.holder
    with pytest.raises(LeaseHeldError, match="still held after waiting 0.2 s"):
        acquire(wh, "run", wait_seconds=0.2, poll_seconds=0.05)
    lease.release()


def test_wait_takes_the_lease_once_released(wh):
    first = acquire(wh, "run", ttl_seconds=30)
    threading.Timer(0.5, first.release).start()
    start = time.monotonic()
    second = acquire(wh, "simulate", wait_seconds=10, poll_seconds=0.05)
    assert 0.4 < time.monotonic() - start < 5
    assert Holder.from_json(lease_path(wh).read_text()).token == second.holder.token
    second.release()


def test_an_expired_lease_is_taken_over_and_its_holder_finds_out(wh):
    stale = acquire(wh, "run", ttl_seconds=0.3)
    time.sleep(0.4)
    fresh = acquire(wh, "run", ttl_seconds=30)
    with pytest.raises(LeaseLostError, match="taken over"):
        stale.renew()
    assert stale.lost
    stale.release()  # never removes the lease it lost
    assert Holder.from_json(lease_path(wh).read_text()).token == fresh.holder.token
    fresh.release()
    assert not lease_path(wh).exists()


def test_release_never_removes_another_tokens_lease(wh):
    lease = acquire(wh, "run", ttl_seconds=30)
    other = Holder.new("simulate", 30)
    lease_path(wh).write_text(other.to_json())  # as if taken over meanwhile
    lease.release()
    assert Holder.from_json(lease_path(wh).read_text()) == other


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(30)
    return proc.pid


def planted(wh: Warehouse, host: str, pid: int) -> Holder:
    """A lease of ``pid`` on ``host``, live for another minute, written as its holder would."""
    holder = replace(Holder.new("run", 60), host=host, pid=pid)
    lease_path(wh).parent.mkdir(parents=True, exist_ok=True)
    lease_path(wh).write_text(holder.to_json())
    return holder


def test_a_killed_holders_lease_is_taken_over_at_once_on_its_host(wh):
    proc = holder_process(wh, ttl=120.0)  # the default ttl: waiting for it would fail below
    try:
        assert proc.stdout.readline().split() == ["won", str(proc.pid)]
        with pytest.raises(LeaseHeldError, match=f"pid {proc.pid}"):
            acquire(wh, "run")
        os.kill(proc.pid, signal.SIGKILL)
        # killed but not yet reaped: a zombie still looks alive, so the lease holds
        with pytest.raises(LeaseHeldError, match=f"pid {proc.pid}"):
            acquire(wh, "run")
        assert proc.wait(10) == -signal.SIGKILL  # reaped: the pid is gone
        start = time.monotonic()
        lease = acquire(wh, "run")  # no wait: taken over at once, long before the ttl
        assert time.monotonic() - start < 5
    finally:
        proc.kill()
        proc.wait(10)
    taken = Holder.from_json(lease_path(wh).read_text())
    assert taken.pid == os.getpid() and taken.token == lease.holder.token
    lease.release()
    assert not lease_path(wh).exists()


def test_a_killed_holders_lease_from_another_host_is_taken_over_after_its_ttl(wh):
    proc = holder_process(wh, ttl=1.0, host="elsewhere.example")
    try:
        assert proc.stdout.readline().split() == ["won", str(proc.pid)]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        # its pid is gone here, but says nothing about a process of another host
        with pytest.raises(LeaseHeldError, match="on host elsewhere.example"):
            acquire(wh, "run")
        lease = acquire(wh, "run", wait_seconds=5, poll_seconds=0.05)  # once it expired
    finally:
        proc.kill()
        proc.wait(10)
    assert Holder.from_json(lease_path(wh).read_text()).pid == os.getpid()
    lease.release()


def test_a_dead_holders_lease_is_taken_over_at_once_only_from_its_host(wh):
    pid = dead_pid()
    other = planted(wh, "elsewhere.example", pid)
    with pytest.raises(LeaseHeldError) as caught:  # a pid says nothing about another host
        acquire(wh, "simulate")
    assert caught.value.holder == other
    planted(wh, socket.gethostname(), pid)
    lease = acquire(wh, "simulate")
    assert Holder.from_json(lease_path(wh).read_text()).token == lease.holder.token
    lease.release()


def test_a_holder_another_user_owns_is_alive(wh, monkeypatch):
    pid = dead_pid()
    holder = planted(wh, socket.gethostname(), pid)

    def no_permission(target: int, sig: int) -> None:
        assert (target, sig) == (pid, 0)
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(lease_module.os, "kill", no_permission)
    with pytest.raises(LeaseHeldError):  # EPERM: the process exists (another user's)
        acquire(wh, "run")
    assert Holder.from_json(lease_path(wh).read_text()) == holder


@pytest.mark.parametrize("flock", [True, False], ids=["flock", "file-operations-only"])
@pytest.mark.parametrize("attempt", range(3))
def test_of_processes_racing_for_a_free_lease_exactly_one_wins(tmp_path, attempt, flock):
    wh = Warehouse.at(tmp_path / f"race{attempt}")
    start_at = time.time() + 1.5  # after every interpreter has started
    procs = [holder_process(wh, ttl=30, start_at=start_at, flock=flock) for _ in range(4)]
    try:
        outcomes = [p.stdout.readline().split() for p in procs]
    finally:
        for p in procs:
            p.kill()
            p.wait(10)
    winners = [o for o in outcomes if o[0] == "won"]
    assert len(winners) == 1 and outcomes.count(["held"]) == 3, outcomes
    assert Holder.from_json(lease_path(wh).read_text()).pid == int(winners[0][1])


@pytest.mark.parametrize("flock", [True, False], ids=["flock", "file-operations-only"])
def test_of_takers_of_one_expired_lease_one_wins(wh, monkeypatch, flock):
    # with flock, any number of takers; the rename-and-check protocol alone (a mount without
    # flock) guarantees it for two takers only: with three, one may move the winner's fresh
    # lease aside while a third links its own (the limit the module docstring states)
    takers = 4 if flock else 2
    if not flock:
        monkeypatch.setattr(lease_module, "_mutex", lambda path: contextlib.nullcontext())
    stale = acquire(wh, "run", ttl_seconds=0.2)
    time.sleep(0.3)
    results: list[str] = []
    barrier = threading.Barrier(takers)

    def take() -> None:
        barrier.wait()
        try:
            acquire(wh, "run", ttl_seconds=30)
            results.append("won")
        except LeaseHeldError:
            results.append("held")

    threads = [threading.Thread(target=take) for _ in range(takers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["held"] * (takers - 1) + ["won"]
    assert Holder.from_json(lease_path(wh).read_text()).token != stale.holder.token


def test_the_heartbeat_keeps_the_lease_beyond_its_ttl(wh):
    with holding(wh, "run", ttl_seconds=0.6) as lease:
        time.sleep(1.5)
        with pytest.raises(LeaseHeldError):
            acquire(wh, "simulate")
        assert not lease.lost
        assert Holder.from_json(lease_path(wh).read_text()).expires > lease.holder.started
    assert not lease_path(wh).exists()


def test_holding_releases_on_an_exception(wh):
    with pytest.raises(RuntimeError), holding(wh, "run"):
        raise RuntimeError("the run failed")
    assert not lease_path(wh).exists()


def test_an_object_store_warehouse_is_refused_clearly():
    with pytest.raises(LeaseUnsupportedError, match="local or mounted warehouse") as caught:
        acquire(Warehouse.at("s3://bucket/phm"), "run")
    assert isinstance(caught.value, PhmError) and isinstance(caught.value, NotImplementedError)
