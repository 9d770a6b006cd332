"""One provenance stamp, one layout, for every benchmark and results file; the leaderboard's default folder."""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

import pytest

from benchmarks.provenance import KEYS, git_state, provenance

ROOT = Path(__file__).resolve().parents[2]


def test_the_stamp_has_the_one_layout_and_names_this_checkout():
    stamp = provenance(["python", "benchmarks/throughput.py", "--quick", "a b"])
    assert tuple(stamp) == KEYS == ("commit", "dirty", "command", "host", "date", "python", "torch")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert stamp["commit"] == head and re.fullmatch(r"[0-9a-f]{40}", stamp["commit"])
    assert isinstance(stamp["dirty"], bool)
    assert stamp["command"] == "python benchmarks/throughput.py --quick 'a b'"  # shell-quoted, copy-pastable
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", stamp["date"])
    assert stamp["torch"].startswith("2.")


def test_outside_a_checkout_the_commit_is_unknown(tmp_path):
    assert git_state(tmp_path) == ("unknown", None)


def test_cell_files_and_board_reports_carry_the_stamp(tmp_path):
    from benchmarks.leaderboard.report import stamp
    from benchmarks.leaderboard.results import read_cell, write_cell

    spec = {"seed": 0}
    write_cell(
        tmp_path / "c.json", "train", spec, {"env_steps": 1, "wall_s": 0.5, "artifact": None, "artifact_sha256": None}
    )
    # the stamp, and the code commit the board checks every cell against (benchmarks.leaderboard.commits)
    assert set(read_cell(tmp_path / "c.json", "train", spec)["provenance"]) == {*KEYS, "code_commit"}
    board = stamp("advrec leaderboard --quick")
    assert set(KEYS) <= set(board) and board["command"] == "advrec leaderboard --quick"


def test_no_other_commit_stamper_is_left():
    """``git rev-parse`` runs in one place: every benchmark and results writer uses :func:`provenance`."""
    callers = [
        str(path.relative_to(ROOT))
        for folder in ("advrec_gym", "agents", "benchmarks")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "rev-parse" in path.read_text()
    ]
    assert callers == ["benchmarks/provenance.py"]
    for script in ("throughput.py", "attacks_throughput.py", "game_results.py", "supervised.py"):
        assert "provenance(" in (ROOT / "benchmarks" / script).read_text(), script


def test_the_leaderboard_writes_under_the_current_directory_by_default(tmp_path, monkeypatch):
    from benchmarks.leaderboard import command

    monkeypatch.chdir(tmp_path)
    assert command.default_out(False) == tmp_path / "benchmarks" / "results"
    assert command.default_out(True) == tmp_path / "benchmarks" / "results" / "quick"
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    assert "under the current directory" in " ".join(parser.format_help().split())


@pytest.mark.parametrize("script", ["throughput", "attacks_throughput", "game_results", "supervised"])
def test_benchmark_scripts_import(script):
    import importlib

    module = importlib.import_module(f"benchmarks.{script}")
    assert callable(module.main)
