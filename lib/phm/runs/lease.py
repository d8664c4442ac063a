"""The warehouse lease: two commands that write one warehouse never interleave.

A command that writes a warehouse's tables (``phm generate``, ``phm run``, ``phm simulate``)
holds its lease for its whole duration, taken before Spark starts::

    with holding(warehouse, "run", wait_seconds=0):
        ...  # write the tables

The lease is one small JSON file, ``<root>/_phm/lease.json``: its holder (operation, host, pid
and a random token), when it was taken and when it expires (UTC ISO timestamps). While a second
command finds a live lease (not expired, its holder not known dead), it waits up to
``wait_seconds`` (polling) and then fails with :class:`~phm.errors.LeaseHeldError`, which names
the holder and what to do.

- **Taking a free lease** writes a private temporary file and links it to ``lease.json``
  (``os.link`` fails when the name exists), so of two commands racing exactly one wins and no
  reader ever sees a half-written lease.
- **Expiry.** A holder renews its lease (:meth:`Lease.renew`; :func:`holding` runs a heartbeat
  thread renewing it every ``ttl / 3``), so a lease expires only when its process died without
  releasing it (``kill -9``, a crashed machine). A lease whose holder ran on this host
  (``socket.gethostname()``) and whose pid is no longer alive (``os.kill(pid, 0)`` finds no such
  process) counts as expired at once: a command killed with ``kill -9`` does not block the
  warehouse for the rest of its ttl. A stale lease (expired, or its holder dead) is taken over:
  the taker moves the stale file to a name of its own (a rename succeeds once), checks it moved
  the very lease it found stale (same token; otherwise puts it back), then links its own lease
  as above. Two commands taking over one stale lease never both win.
- **Release** (:meth:`Lease.release`, on leaving :func:`holding`, exceptions included) removes the
  file only when it still holds this lease's token: never another holder's lease.
- Every change of the file (take, take-over, renew, release) also runs under an advisory
  ``flock`` of ``_phm/lease.lock``, released by the kernel when a process dies, which serialises
  them on local disks and mounts that support it; where it is not supported the file operations
  above keep the guarantees, but for microseconds-wide windows around a lease that has just
  expired (its holder renewing it late as a taker arrives, or three takers at once).

Limits: the lease needs a local or mounted warehouse (a path, not an ``s3://``, ``abfss://`` or
``dbfs:/`` URI: :func:`acquire` raises :class:`~phm.errors.LeaseUnsupportedError` for those, for
now); hosts sharing a mounted warehouse must have synchronised clocks (expiry is compared to
each one's wall clock); a process stopped for longer than the ttl (``SIGSTOP``, a suspended
laptop) loses its lease to a taker, and finds out at its next renewal
(:class:`~phm.errors.LeaseLostError`, logged by the heartbeat); a killed command (``SIGKILL``,
or ``SIGTERM``, which Python does not turn into an exception) frees the warehouse at once only
for a command on its own host: from another host sharing the mount its lease is taken over once
it expires, :data:`DEFAULT_TTL_SECONDS` at most (a pid says nothing across hosts); a dead
holder whose pid was reused by another process, or not yet reaped by its parent (a zombie),
looks alive, so its lease waits for its expiry (the safe direction); processes that share a
host name but not a pid namespace (containers given the host's name) see each other's pids as
dead, so they need distinct host names; the pid checked is the Python process's: the JVM it
started exits by itself once that process is gone (PySpark's gateway reads its stdin to EOF),
and a taker arriving in that moment may overlap the dying JVM's last Delta commit (a commit is
atomic: the taker then sees it done, or has it fail on a conflict); the ``jobs/`` spark-submit
entry points do not take the lease (yet). Pure Python: no Spark here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from phm.data.warehouse import Warehouse
from phm.errors import LeaseHeldError, LeaseLostError, LeaseUnsupportedError, WarehouseError

try:
    import fcntl
except ImportError:  # pragma: no cover (not POSIX): the file operations alone
    fcntl = None  # type: ignore[assignment]

LEASE_FILE = "_phm/lease.json"
LOCK_FILE = "_phm/lease.lock"
DEFAULT_TTL_SECONDS = 120.0
DEFAULT_POLL_SECONDS = 2.0

log = logging.getLogger(__name__)


def _now(plus_seconds: float = 0) -> datetime:
    moment = datetime.now(UTC) + timedelta(seconds=plus_seconds)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)  # as in the file


def _shown(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class Holder:
    """Who holds a lease, since when and until when (the content of ``lease.json``)."""

    operation: str
    host: str
    pid: int
    token: str
    started: datetime
    expires: datetime

    @classmethod
    def new(cls, operation: str, ttl_seconds: float) -> Holder:
        return cls(
            operation,
            socket.gethostname(),
            os.getpid(),
            secrets.token_hex(16),
            _now(),
            _now(ttl_seconds),
        )

    def expired(self, now: datetime | None = None) -> bool:
        return (now or _now()) >= self.expires

    def dead(self) -> bool:
        """The holder ran on this host and its process is gone (killed without releasing)."""
        return self.host == socket.gethostname() and not _alive(self.pid)

    def stale(self) -> bool:
        """Expired, or its holder is dead: the lease may be taken over."""
        return self.expired() or self.dead()

    def to_json(self) -> str:
        return json.dumps(
            {
                "operation": self.operation,
                "host": self.host,
                "pid": self.pid,
                "token": self.token,
                "started": self.started.isoformat(timespec="milliseconds"),
                "expires": self.expires.isoformat(timespec="milliseconds"),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Holder:
        data = json.loads(text)
        return cls(
            str(data["operation"]),
            str(data["host"]),
            int(data["pid"]),
            str(data["token"]),
            datetime.fromisoformat(data["started"]),
            datetime.fromisoformat(data["expires"]),
        )

    def describe(self) -> str:
        return (
            f"`{self.operation}` (pid {self.pid} on host {self.host}, since "
            f"{_shown(self.started)}; its lease expires {_shown(self.expires)} unless renewed)"
        )


def lease_path(warehouse: Warehouse) -> Path:
    return Path(warehouse.root) / LEASE_FILE


@dataclass
class Lease:
    """A lease this process holds on ``warehouse`` (from :func:`acquire`)."""

    warehouse: Warehouse
    holder: Holder
    ttl_seconds: float
    released: bool = False
    lost: bool = False

    @property
    def path(self) -> Path:
        return lease_path(self.warehouse)

    def renew(self) -> None:
        """Push the expiry to now + ttl.

        Raises:
            LeaseLostError: the file no longer holds this lease (released, or taken over after
                it expired).
        """
        with _mutex(self.path):
            current = _read(self.path)
            if current is None or current.token != self.holder.token:
                self.lost = True
                what = (
                    f"expired and was taken over: now held by {current.describe()}"
                    if current
                    else f"is gone ({self.path} was removed)"
                )
                raise LeaseLostError(
                    f"the lease of `{self.holder.operation}` on {self.warehouse.root} {what}"
                )
            renewed = replace(self.holder, expires=_now(self.ttl_seconds))
            tmp = _write_private(self.path, renewed)
            os.replace(tmp, self.path)  # atomic: readers see the old or the new lease
            self.holder = renewed

    def release(self) -> None:
        """Remove the lease file if it still holds this lease (idempotent)."""
        if self.released:
            return
        self.released = True
        with _mutex(self.path):
            current = _read(self.path)
            if current is not None and current.token == self.holder.token:
                _remove_if(self.path, self.holder.token)


def acquire(
    warehouse: Warehouse,
    operation: str,
    *,
    ttl_seconds: float = DEFAULT_TTL_SECONDS,
    wait_seconds: float = 0,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
) -> Lease:
    """Take the warehouse's lease for ``operation`` (a label such as ``"run"``).

    A live lease is waited for up to ``wait_seconds`` (checked every ``poll_seconds``); a stale
    one (expired, or held by a process of this host that is gone) is taken over. Release it with :meth:`Lease.release`, or
    use :func:`holding`, which also renews it.

    Raises:
        LeaseHeldError: another holder's lease is still live after ``wait_seconds``.
        LeaseUnsupportedError: the warehouse is an object-store URI: the lease needs a local or
            mounted warehouse, for now.
    """
    if not warehouse.is_local:
        raise LeaseUnsupportedError(
            f"the warehouse lease needs a local or mounted warehouse for now, not {warehouse.root}"
            " (mount the bucket and give its path, or run the spark-submit jobs/ entry points)"
        )
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    path = lease_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + max(wait_seconds, 0)
    while True:
        mine = Holder.new(operation, ttl_seconds)
        current = _attempt(path, mine)
        if current is None:
            return Lease(warehouse, mine, ttl_seconds)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            waited = f"; still held after waiting {wait_seconds:g} s" if wait_seconds > 0 else ""
            raise LeaseHeldError(
                f"warehouse {warehouse.root} is in use by {current.describe()}{waited}. "
                "Retry once it has finished, or wait for it with --wait SECONDS; a lease left "
                "by a killed process is taken over at once from its host, else once it expires",
                holder=current,
            )
        time.sleep(min(poll_seconds, remaining))


@contextlib.contextmanager
def holding(
    warehouse: Warehouse,
    operation: str,
    *,
    ttl_seconds: float = DEFAULT_TTL_SECONDS,
    wait_seconds: float = 0,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
) -> Iterator[Lease]:
    """Hold the lease for the ``with`` block: :func:`acquire` it, renew it every ``ttl / 3`` in a
    daemon thread, release it on leaving (exceptions included)."""
    lease = acquire(
        warehouse,
        operation,
        ttl_seconds=ttl_seconds,
        wait_seconds=wait_seconds,
        poll_seconds=poll_seconds,
    )
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat, args=(lease, stop, ttl_seconds / 3), name="phm-lease", daemon=True
    )
    beat.start()
    try:
        yield lease
    finally:
        stop.set()
        beat.join()
        lease.release()


def _heartbeat(lease: Lease, stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        try:
            lease.renew()
        except LeaseLostError as exc:
            log.warning("%s", exc)
            return
        except OSError as exc:  # a hiccup of the file system: try again at the next beat
            log.warning("could not renew the lease of %s: %s", lease.warehouse.root, exc)


# -- the file operations ------------------------------------------------------------------------


def _attempt(path: Path, mine: Holder) -> Holder | None:
    """One attempt to take the lease: None when ``mine`` now holds it, else the live holder."""
    with _mutex(path):
        for _ in range(20):  # the file may come and go between two steps: look again
            if _create(path, mine):
                return None
            current = _read(path)
            if current is None:  # released meanwhile
                continue
            if not current.stale():
                return current
            if _remove_if(path, current.token, stale=True):  # the stale lease is ours...
                if _create(path, mine):  # ...unless a free-lease taker came in between
                    why = "expired" if current.expired() else "dead holder's"
                    log.info("took over the %s lease of %s", why, current.describe())
                    return None
    raise WarehouseError(f"the lease file {path} keeps changing; is a phm command looping on it?")


def _write_private(path: Path, holder: Holder) -> Path:
    """Write ``holder`` to a temporary file only this attempt uses (fsynced), and name it."""
    tmp = path.with_name(f"{path.name}.{holder.token}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(holder.to_json())
        f.flush()
        os.fsync(f.fileno())
    return tmp


def _create(path: Path, holder: Holder) -> bool:
    """Publish ``holder`` as the lease unless one exists: True when this call created it."""
    tmp = _write_private(path, holder)
    try:
        os.link(tmp, path)  # fails if the name exists: of two racers exactly one wins
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def _remove_if(path: Path, token: str, *, stale: bool = False) -> bool:
    """Remove the lease file if it holds ``token`` (and, with ``stale``, has expired or its
    holder is dead): True when this call removed that lease.

    The file is first moved to a name of this call's own (a rename succeeds once), so two callers
    never both remove it; a lease moved by mistake (another token: it changed since it was read)
    is put back.
    """
    grabbed = path.with_name(f"{path.name}.{secrets.token_hex(8)}.removed")
    try:
        os.rename(path, grabbed)
    except FileNotFoundError:
        return False
    try:
        taken = _read(grabbed)
        if taken is not None and taken.token == token and (not stale or taken.stale()):
            return True
        try:
            os.link(grabbed, path)  # put back the lease that is not ours to remove
        except FileExistsError:
            log.warning("a lease of %s was replaced while being put back", path.parent.parent)
        return False
    finally:
        grabbed.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a zombie counts: it is not reaped yet)."""
    if pid <= 0:  # not a process id (0 and -1 would signal groups): never call it dead
        return True
    try:
        os.kill(pid, 0)  # signal 0: only the existence and permission checks
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, another user's; anything else: assume alive
        return True
    return True


def _read(path: Path) -> Holder | None:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        return Holder.from_json(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise WarehouseError(
            f"the lease file {path} is unreadable ({exc}); delete it if no phm command is "
            "writing this warehouse"
        ) from None


@contextlib.contextmanager
def _mutex(path: Path) -> Iterator[None]:
    """An advisory ``flock`` of ``lease.lock`` for one change of the lease (milliseconds), where
    the file system supports it; the file operations keep their guarantees without it."""
    if fcntl is None:
        yield
        return
    try:
        fd = os.open(path.with_name(Path(LOCK_FILE).name), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # not supported by this mount
            pass
        yield
    finally:
        os.close(fd)  # closing releases the lock
