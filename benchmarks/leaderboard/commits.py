"""Which code a cell was computed with, and committing finished cells into the repository as they land.

**The code commit.** A board is "computed at one commit" when every cell ran the same code. The
commit of ``HEAD`` cannot say that once cells are committed as they finish (each such commit moves
``HEAD`` without changing any code), so a cell records its **code commit**: the newest commit that
changed anything other than results and prose (:data:`CODE_PATHSPEC`: everything but
``benchmarks/results/``, ``docs/`` and Markdown files), with ``+dirty`` when such tracked files
differ from it. Committing a cell under ``benchmarks/results/`` leaves the code commit unchanged.

**Committing cells** (``advrec leaderboard --commit-cells``): the runner hands every finished cell
file to a :class:`CellCommitter`, which commits the pending ones (``git add`` and ``git commit --
<those paths>``, so nothing else that is staged goes with them) at most every ``interval_s``
seconds and once more at the end. A long run can then continue on a fresh clone where only what is
committed exists (:mod:`.runner`).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

RESULTS_DIR = "benchmarks/results"
CODE_PATHSPEC = (".", f":(exclude){RESULTS_DIR}", ":(exclude)docs", ":(exclude,glob)**/*.md")
REPO_ROOT = Path(__file__).resolve().parents[2]


def _git(args: list[str], cwd: Path = REPO_ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60).stdout


def code_commit(root: Path = REPO_ROOT) -> str:
    """The newest commit that changed code (:data:`CODE_PATHSPEC`), ``+dirty`` if that code has changed since.

    ``"unknown"`` outside a git checkout.
    """
    try:
        commit = _git(["log", "-1", "--format=%H", "--", *CODE_PATHSPEC], root).strip()
        dirty = _git(["status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHSPEC], root).strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not commit:
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def check_commit_target(folder: str | Path, root: Path = REPO_ROOT) -> Path:
    """Check that cell files under ``folder`` can be committed without moving the code commit; return the root.

    Raises:
        ValueError: ``folder`` is outside the repository, outside ``benchmarks/results/`` (committing
            there would change the code commit of the cells that follow) or ignored by git.
    """
    folder = Path(folder).resolve()
    results = (root / RESULTS_DIR).resolve()
    if not folder.is_relative_to(results):
        raise ValueError(
            f"--commit-cells needs --out inside {results} (cells committed elsewhere would change the code "
            f"commit the next cells record), got --out {folder}."
        )
    probe = folder / "cells" / "probe.json"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(probe)], cwd=root, capture_output=True, timeout=60)
    if ignored.returncode == 0:
        raise ValueError(f"--commit-cells: git ignores {probe.parent}; choose an --out that git tracks.")
    return root


class CellCommitter:
    """Commit finished cell files in batches: at most one commit per ``interval_s``, and one at :meth:`flush`.

    A failing ``git commit`` (say, no user identity) is reported through ``log`` and retried at the
    next batch; it never stops the run.
    """

    def __init__(self, root: Path, message: str, interval_s: float = 300.0, log: Callable[[str], None] = print) -> None:
        self.root, self.message, self.interval_s, self.log = Path(root), message, float(interval_s), log
        self.pending: list[Path] = []
        self.commits = 0
        self._last = time.monotonic()

    def add(self, path: str | Path) -> None:
        """Queue a finished cell file; commit the queue if ``interval_s`` has passed since the last commit."""
        self.pending.append(Path(path))
        if time.monotonic() - self._last >= self.interval_s:
            self.flush()

    def flush(self) -> None:
        """Commit every queued file that exists now (a no-op when none is queued)."""
        self._last = time.monotonic()
        paths = sorted({str(p) for p in self.pending if p.exists()})
        if not paths:
            self.pending = []
            return
        try:
            _git(["add", "--", *paths], self.root)
            _git(["commit", "--quiet", "-m", f"{self.message} ({len(paths)} cells)", "--", *paths], self.root)
        except subprocess.CalledProcessError as exc:
            self.log(f"leaderboard: could not commit {len(paths)} cell files (will retry): {exc.stderr.strip()}")
            return
        self.commits += 1
        self.pending = []
