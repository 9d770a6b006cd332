"""One run per run directory: the lock file, its errors, stale locks, and ``advrec train`` / ``advrec demo``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agents import cli

LOCK_FILE = "run.lock"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _write_lock(run_dir: Path, **fields) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "started": "2026-01-01T00:00:00+00:00"}
    owner.update(fields)
    (run_dir / LOCK_FILE).write_text(json.dumps(owner))
    return run_dir / LOCK_FILE


def test_the_lock_is_exclusive_names_its_holder_and_is_removed_at_the_end(tmp_path):
    from agents.training.run_lock import RunLock, RunLockedError

    first = RunLock(tmp_path / "run").acquire()
    owner = json.loads((tmp_path / "run" / LOCK_FILE).read_text())
    assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
    with pytest.raises(RunLockedError, match=rf"in use by another run: process {os.getpid()} on "):
        RunLock(tmp_path / "run").acquire()
    first.release()
    assert not (tmp_path / "run" / LOCK_FILE).exists()
    with RunLock(tmp_path / "run") as again:  # free again
        assert again.held
    assert not (tmp_path / "run" / LOCK_FILE).exists()


def test_a_stale_lock_of_a_dead_process_on_this_host_is_removed(tmp_path):
    from agents.training.run_lock import RunLock, StaleLockWarning

    pid = _dead_pid()
    _write_lock(tmp_path / "run", pid=pid, command="advrec train")
    with pytest.warns(StaleLockWarning, match=rf"Removed the stale lock .* of process {pid} \(advrec train\)"):
        lock = RunLock(tmp_path / "run").acquire()
    assert json.loads((tmp_path / "run" / LOCK_FILE).read_text())["pid"] == os.getpid()
    lock.release()
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == []  # no stale copy left aside


def test_a_lock_from_another_host_says_how_to_clear_it(tmp_path):
    from agents.training.run_lock import RunLock, RunLockedError

    path = _write_lock(tmp_path / "run", pid=_dead_pid(), host="another-host")
    with pytest.raises(RunLockedError) as info:
        RunLock(tmp_path / "run").acquire()
    message = str(info.value)
    assert "on another-host" in message and f"delete {path} and run again" in message
    assert path.exists()  # never removed on a guess


def test_a_second_advrec_train_on_a_locked_folder_is_refused_before_writing_anything(tmp_path, capsys, monkeypatch):
    import agents.training.trainer

    def never(self, *args, **kwargs):
        raise AssertionError("a second run started training in a folder in use")

    monkeypatch.setattr(agents.training.trainer.Trainer, "train", never)
    run_dir = tmp_path / "run"
    lock = _write_lock(run_dir)  # held by this (live) process
    code = cli.main(["train", "--output-dir", str(run_dir), "--num-items", "60", "--device", "cpu"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{run_dir} is in use by another run" in err and str(lock) in err
    assert sorted(p.name for p in run_dir.iterdir()) == [LOCK_FILE]  # no config.json, no tb/, no checkpoints


def test_two_demo_folders_started_in_one_second_differ(tmp_path, monkeypatch):
    from agents.commands import demo

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demo.time, "strftime", lambda fmt: "20260101-120000")  # the same second
    parser = cli.build_parser()
    configs = [demo.game_config(parser.parse_args(["demo"])) for _ in range(2)]
    dirs = [Path(c.output_dir) for c in configs]
    assert dirs[0] != dirs[1] and all(d.is_dir() and d.name.startswith("demo-20260101-120000-") for d in dirs)
    assert all(d.parent == Path("runs") for d in dirs)


@pytest.mark.slow
def test_two_advrec_train_processes_on_one_folder(tmp_path, small_catalogue, small_catalogue_cache_dir):
    """The real race: the first run trains, the second is refused at once, the folder holds one run."""
    from tests.agents.test_cli_train import TINY_FLAGS

    run_dir = tmp_path / "run"
    argv = [*TINY_FLAGS, "--cache-dir", str(small_catalogue_cache_dir), "--output-dir", str(run_dir)]
    argv += ["--defence", "none", "--eval-attacks", "random", "--recommender-steps", "65536"]  # seconds longer than the
    # second process takes to start (at 2048 steps it sometimes finished first on a loaded machine)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "agents.cli", "train", *argv]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run_dir / LOCK_FILE).exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert first.poll() is None, first.communicate()
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == 2 and f"{run_dir} is in use by another run: process {first.pid}" in second.stderr
    assert not (run_dir / LOCK_FILE).exists()  # released at the end
    assert (run_dir / "evaluation.json").is_file() and len(list((run_dir / "tb").glob("*"))) == 0
