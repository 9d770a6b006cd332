"""One run per run directory: an exclusive lock file, ``run.lock``, for as long as a run uses the folder.

Two ``advrec train`` (or ``advrec demo``) processes given one ``--output-dir`` would otherwise both
write its config, checkpoints, TensorBoard logs and evaluation, and the folder would end up with a
mix of the two. The trainer takes the lock before it writes anything and gives it back when it is
done (on success, on an error and on Ctrl-C alike).

The lock file is created with ``O_CREAT | O_EXCL`` (atomic: exactly one process can create it) and
holds the owner's pid, host, start time and command line as JSON.

**A stale lock** is one whose process died without cleaning up (``kill -9``, out of memory, a power
cut). A lock of a process that no longer exists *on this host* is detected and removed with a
warning, so that ``advrec train --resume DIR`` just works after a crash. A lock written on another
host (a shared file system) cannot be checked from here: the error names its host and pid, and if
that process is gone, delete ``DIR/run.lock`` by hand and run again.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import sys
import warnings
from pathlib import Path
from typing import Any

LOCK_FILE = "run.lock"


class RunLockedError(FileExistsError):
    """The run directory is in use by another run (or holds a lock this process cannot prove stale)."""


class StaleLockWarning(UserWarning):
    """A lock left by a process that no longer exists was removed."""


class RunLock:
    """The exclusive lock of a run directory.

    Args:
        run_dir: the run directory (created if missing).

    Example:
        >>> with RunLock("runs/game"):      # doctest: +SKIP
        ...     train()
    """

    def __init__(self, run_dir: str | os.PathLike):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_FILE
        self.held = False

    def acquire(self) -> RunLock:
        """Take the lock, or raise :class:`RunLockedError` naming the process that holds it."""
        if self.held:
            return self
        self.run_dir.mkdir(parents=True, exist_ok=True)
        me = _identity()
        for _ in range(3):  # a stale lock removed, or one released while we looked: try again
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
            except FileExistsError:
                owner = _read(self.path)
                if owner is None:  # released between our open and our read
                    continue
                if not _is_stale(owner):
                    raise RunLockedError(_locked_message(self.path, owner)) from None
                if _break(self.path, owner):
                    warnings.warn(
                        f"Removed the stale lock {self.path} of process {owner.get('pid')} "
                        f"({owner.get('command', '?')}), which no longer exists.",
                        StaleLockWarning,
                        stacklevel=2,
                    )
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
                f.write("\n")
            self.held = True
            return self
        raise RunLockedError(f"Could not take the lock {self.path}: other processes keep taking it.")

    def release(self) -> None:
        """Give the lock back (a no-op when not held)."""
        if self.held:
            self.held = False
            owner = _read(self.path)
            if owner is not None and owner.get("pid") == os.getpid() and owner.get("host") == socket.gethostname():
                self.path.unlink(missing_ok=True)

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _identity() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv and sys.argv[0] else "python",
    }


def _read(path: Path) -> dict[str, Any] | None:
    """The lock's contents; ``None`` when it is gone; ``{}`` when it is unreadable (a torn write)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _is_stale(owner: dict[str, Any]) -> bool:
    """True only when the owner provably no longer exists: same host, and no process with its pid."""
    pid = owner.get("pid")
    if owner.get("host") != socket.gethostname() or not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, under another user
        return False
    return False


def _break(path: Path, owner: dict[str, Any]) -> bool:
    """Remove the stale lock ``owner``; never a fresh one that replaced it after we read it."""
    aside = path.with_name(f"{path.name}.stale-{os.getpid()}")
    try:
        os.rename(path, aside)  # atomic: if two processes break the lock, only one moves this file
    except FileNotFoundError:
        return False
    moved = _read(aside)
    if moved != owner:  # we moved a fresh lock taken in between: put it back unless yet another exists
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        aside.unlink(missing_ok=True)
        return False
    aside.unlink(missing_ok=True)
    return True


def _locked_message(path: Path, owner: dict[str, Any]) -> str:
    who = f"process {owner.get('pid', '?')} on {owner.get('host', '?')}"
    since = f" since {owner['started']}" if owner.get("started") else ""
    command = f" ({owner['command']})" if owner.get("command") else ""
    return (
        f"{path.parent} is in use by another run: {who}{since}{command} holds {path}. Wait for it to finish, "
        f"or choose another output directory. If that process is gone (it was killed on another host), "
        f"delete {path} and run again."
    )
