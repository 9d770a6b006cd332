"""Checkpoints of both players after every phase, written atomically, read without unpickling.

Layout of a run directory::

    config.json                      the run's TrainConfig
    checkpoints/phase-0003/          one complete checkpoint per finished phase
        recommender.zip              SB3 zip of the recommender (PPO)
        adversary.zip                SB3 zip of the learned adversary (games only)
        state.json                   phase index, round, player, timesteps, config, per-phase results
    tb/recommender, tb/adversary     TensorBoard logs
    evaluation.json                  the final evaluation table

A checkpoint is written into a temporary directory next to its final name and renamed into place
(``os.rename`` of a directory is atomic on POSIX), so ``checkpoints/phase-*`` only ever holds complete
checkpoints: a run killed at any point (``kill -9`` included) resumes from the last one.

**Trust model.** An SB3 zip holds the weights (``*.pth``, read here with ``torch.load(weights_only=True)``)
*and* a ``data`` entry with cloudpickled Python objects, which ``PPO.load`` unpickles: loading a zip
with ``PPO.load`` can execute code, so load only files you wrote. This module never does: it rebuilds
the models from ``state.json`` (plain JSON) and reads only the weights (``model.set_parameters``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.training.config import TrainConfig

_PHASE_DIR = re.compile(r"^phase-(\d{4,})$")
RECOMMENDER_FILE = "recommender.zip"
ADVERSARY_FILE = "adversary.zip"
STATE_FILE = "state.json"


@dataclass(frozen=True)
class Checkpoint:
    """A complete checkpoint on disk."""

    path: Path
    state: dict[str, Any]

    @property
    def phase(self) -> int:
        """Index of the last finished phase."""
        return int(self.state["phase"])

    @property
    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.state["config"], source=f"checkpoint {self.path}")

    @property
    def recommender_path(self) -> Path:
        return self.path / RECOMMENDER_FILE

    @property
    def adversary_path(self) -> Path | None:
        path = self.path / ADVERSARY_FILE
        return path if path.is_file() else None


def checkpoint_dir(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / "checkpoints"


def write_checkpoint(run_dir: str | os.PathLike, phase: int, state: dict[str, Any], models: dict[str, Any]) -> Path:
    """Save ``models`` (name -> SB3 model, saved as ``name.zip``) and ``state`` as phase ``phase``'s checkpoint.

    Returns the checkpoint's directory. Writes into a temporary directory, flushes it to disk and renames
    it into place, so a reader sees either no checkpoint for this phase or a complete one.
    """
    root = checkpoint_dir(run_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"phase-{phase:04d}"
    tmp = root / f".tmp-phase-{phase:04d}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    for name, model in models.items():
        model.save(tmp / f"{name}.zip")
    (tmp / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
    for file in tmp.iterdir():
        _fsync(file)
    _fsync(tmp)
    if final.exists():  # a phase re-run after its checkpoint was deleted by hand: replace it
        shutil.rmtree(final)
    os.rename(tmp, final)
    _fsync(root)
    return final


def list_checkpoints(run_dir: str | os.PathLike) -> list[Checkpoint]:
    """The complete checkpoints of a run, oldest first (temporary leftovers are ignored)."""
    root = checkpoint_dir(run_dir)
    found = []
    if root.is_dir():
        for path in root.iterdir():
            if _PHASE_DIR.match(path.name) and (path / STATE_FILE).is_file() and (path / RECOMMENDER_FILE).is_file():
                found.append(Checkpoint(path, json.loads((path / STATE_FILE).read_text())))
    return sorted(found, key=lambda c: c.phase)


def latest_checkpoint(run_dir: str | os.PathLike) -> Checkpoint | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def find_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """The checkpoint at ``path``: a checkpoint directory itself, or a run directory (its latest).

    Raises:
        FileNotFoundError: nothing there, or no complete checkpoint in it (the message says which).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Checkpoint directory not found: {path}")
    if (path / STATE_FILE).is_file() and (path / RECOMMENDER_FILE).is_file():
        return Checkpoint(path, json.loads((path / STATE_FILE).read_text()))
    latest = latest_checkpoint(path)
    if latest is None:
        raise FileNotFoundError(
            f"No complete checkpoint in {path}: expected a run directory with checkpoints/phase-NNNN/ "
            f"or a checkpoint directory with {RECOMMENDER_FILE} and {STATE_FILE}."
        )
    return latest


def prune_checkpoints(run_dir: str | os.PathLike, keep: int) -> None:
    """Delete all but the newest ``keep`` complete checkpoints, and temporary leftovers of dead runs."""
    root = checkpoint_dir(run_dir)
    for old in list_checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old.path, ignore_errors=True)
    if root.is_dir():
        for path in root.glob(".tmp-phase-*"):
            shutil.rmtree(path, ignore_errors=True)


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    _fsync(tmp)
    os.replace(tmp, path)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
