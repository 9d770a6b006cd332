"""Code commits (results and prose do not move them) and committing finished cells into git, in a scratch repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from benchmarks.leaderboard.commits import REPO_ROOT, CellCommitter, check_commit_target, code_commit


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture()
def repo(tmp_path):
    repo = tmp_path / "repo"
    (repo / "benchmarks" / "results").mkdir(parents=True)
    _git(repo, "init", "-q")
    _git(repo, "config", "user.name", "Board Test")
    _git(repo, "config", "user.email", "board@example.invalid")
    (repo / "code.py").write_text("x = 1\n")
    (repo / "README.md").write_text("# readme\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "code")
    return repo


def test_the_code_commit_ignores_results_and_prose(repo):
    code = _git(repo, "rev-parse", "HEAD")
    assert code_commit(repo) == code
    cell = repo / "benchmarks" / "results" / "cells" / "a.json"
    cell.parent.mkdir(parents=True)
    cell.write_text("{}\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "a result")
    (repo / "README.md").write_text("# readme, edited\n")  # uncommitted prose: not dirty code
    assert _git(repo, "rev-parse", "HEAD") != code and code_commit(repo) == code
    (repo / "code.py").write_text("x = 2\n")
    assert code_commit(repo) == code + "+dirty"
    assert code_commit(repo.parent) == "unknown"  # not a git checkout


def test_finished_cells_are_committed_in_batches_without_other_staged_files(repo):
    (repo / "code.py").write_text("x = 3\n")
    _git(repo, "add", "code.py")  # staged by someone else: must not ride along
    cells = repo / "benchmarks" / "results" / "cells"
    cells.mkdir(parents=True)
    logged = []
    committer = CellCommitter(repo, "Leaderboard test: finished cells", interval_s=3600, log=logged.append)
    for name in ("a.json", "b.json"):
        (cells / name).write_text("{}\n")
        committer.add(cells / name)
    assert committer.commits == 0 and len(committer.pending) == 2  # the interval has not passed
    committer.flush()
    assert committer.commits == 1 and committer.pending == [] and logged == []
    files = _git(repo, "show", "--name-only", "--format=%s", "HEAD").splitlines()
    assert files[0] == "Leaderboard test: finished cells (2 cells)"
    assert sorted(f for f in files[1:] if f) == ["benchmarks/results/cells/a.json", "benchmarks/results/cells/b.json"]
    assert _git(repo, "diff", "--cached", "--name-only") == "code.py"  # still staged, not committed
    # an interval of 0 commits at every finished cell
    eager = CellCommitter(repo, "eager", interval_s=0, log=logged.append)
    (cells / "c.json").write_text("{}\n")
    eager.add(cells / "c.json")
    assert (
        eager.commits == 1
        and _git(repo, "show", "--name-only", "--format=", "HEAD") == "benchmarks/results/cells/c.json"
    )


def test_a_failing_commit_is_logged_and_kept_for_the_next_batch(repo, tmp_path):
    logged = []
    committer = CellCommitter(repo, "m", interval_s=3600, log=logged.append)
    outside = tmp_path / "elsewhere.json"
    outside.write_text("{}\n")
    committer.add(outside)
    committer.flush()
    assert committer.commits == 0 and committer.pending == [outside]
    assert len(logged) == 1 and "could not commit 1 cell files (will retry)" in logged[0]


def test_only_a_tracked_folder_under_the_results_can_take_committed_cells():
    assert check_commit_target(REPO_ROOT / "benchmarks" / "results" / "v1") == REPO_ROOT
    with pytest.raises(ValueError, match="--commit-cells needs --out inside"):
        check_commit_target(REPO_ROOT / "benchmarks" / "boards")
    with pytest.raises(ValueError, match="git ignores"):  # runs/ is ignored (where models go)
        check_commit_target(REPO_ROOT / "benchmarks" / "results" / "runs")
