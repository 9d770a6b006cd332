"""Where a result came from: the one stamp of every benchmark and results file.

Every JSON the benchmarks and the leaderboard write carries ``"provenance": provenance(command)``::

    {"commit": "<40 hex digits>" | "unknown", "dirty": true | false | null, "command": "...",
     "host": "...", "date": "2026-01-01T12:00:00+00:00", "python": "3.11.9", "torch": "2.13.0+cpu"}

``commit`` is the checkout's ``HEAD`` and ``dirty`` whether tracked files differ from it (``null``
and ``"unknown"`` outside a git checkout, e.g. an installed copy); ``date`` is UTC.
"""

from __future__ import annotations

import datetime
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

KEYS = ("commit", "dirty", "command", "host", "date", "python", "torch")
_ROOT = Path(__file__).resolve().parents[1]


def git_state(root: str | Path = _ROOT) -> tuple[str, bool | None]:
    """``(HEAD's commit, tracked files changed)`` of the checkout at ``root``; ``("unknown", None)`` outside git."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--verify", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return "unknown", None
    return commit, dirty


def provenance(command: str | list[str] | None = None) -> dict[str, Any]:
    """The stamp of a result (see the module docstring).

    Args:
        command: the command that reproduces the result, as a string or an argv list; ``None`` is
            this process's command line.
    """
    if command is None:
        command = [Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python", *sys.argv[1:]]
    if not isinstance(command, str):
        command = shlex.join(str(part) for part in command)
    commit, dirty = git_state()
    try:
        import torch

        torch_version: str | None = torch.__version__
    except ImportError:  # pragma: no cover - torch is a core dependency
        torch_version = None
    return {
        "commit": commit,
        "dirty": dirty,
        "command": command,
        "host": platform.node(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "torch": torch_version,
    }
