"""Checkpoints of both players after every phase, written atomically, read without unpickling.

Layout of a run directory::

    config.json                      the run's TrainConfig
    checkpoints/phase-0003/          one complete checkpoint per finished phase
        recommender.zip              SB3 zip of the recommender (PPO)
        adversary.zip                SB3 zip of the learned adversary (games only)
        state.json                   phase index, round, player, timesteps, config, per-phase results, torch threads
    tb/recommender, tb/adversary     TensorBoard logs
    evaluation.json                  the final evaluation table

    run.lock                         held while a run uses the folder (:mod:`agents.training.run_lock`)

A checkpoint is written into a temporary directory next to its final name and renamed into place
(:func:`advrec_gym._io.atomic_directory`; ``os.rename`` of a directory is atomic on POSIX), so
``checkpoints/phase-*`` only ever holds complete checkpoints: a run killed at any point (``kill -9``
included) resumes from the last one. A corrupt ``state.json`` is an error naming the file.

**Trust model.** An SB3 zip holds the weights (``*.pth``, read here with ``torch.load(weights_only=True)``)
*and* a ``data`` entry with cloudpickled Python objects, which ``PPO.load`` unpickles: loading a zip
with ``PPO.load`` can execute code, so load only files you wrote. This module never does: it rebuilds
the models from ``state.json`` (plain JSON) and reads only the weights (``model.set_parameters``),
after checking that every tensor has the shape the rebuilt model expects (:func:`check_weights`).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advrec_gym._io import atomic_directory, atomic_write_json, read_json_file
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
    final = checkpoint_dir(run_dir) / f"phase-{phase:04d}"
    with atomic_directory(final) as tmp:
        for name, model in models.items():
            model.save(tmp / f"{name}.zip")
        atomic_write_json(tmp / STATE_FILE, state)
    return final


def list_checkpoints(run_dir: str | os.PathLike) -> list[Checkpoint]:
    """The complete checkpoints of a run, oldest first (temporary leftovers are ignored)."""
    root = checkpoint_dir(run_dir)
    found = []
    if root.is_dir():
        for path in root.iterdir():
            if _PHASE_DIR.match(path.name) and (path / STATE_FILE).is_file() and (path / RECOMMENDER_FILE).is_file():
                found.append(Checkpoint(path, read_state(path)))
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
        return Checkpoint(path, read_state(path))
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


def read_state(path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint directory's ``state.json``; a corrupt one is an error naming the file and line."""
    state = read_json_file(Path(path) / STATE_FILE, what="checkpoint state")
    if not isinstance(state.get("phase"), int):
        raise ValueError(f"{Path(path) / STATE_FILE}: not a checkpoint's state (no integer 'phase').")
    return state


def check_weights(model: Any, zip_path: str | os.PathLike, what: str) -> None:
    """Raise a ``ValueError`` unless the SB3 zip's policy weights fit ``model``'s, name for name and shape for shape.

    ``model.set_parameters`` would otherwise stop with torch's raw size-mismatch traceback. Reads the
    weights only (``torch.load(weights_only=True)`` inside SB3's ``load_from_zip_file``).
    """
    import pickle
    import zipfile

    from stable_baselines3.common.save_util import load_from_zip_file

    try:
        _, params, _ = load_from_zip_file(str(zip_path), device="cpu", load_data=False)
    except pickle.UnpicklingError:
        raise ValueError(
            f"{zip_path} was refused: its weights hold Python objects other than tensors, which loading would have "
            "to execute (a crafted or foreign file; AdvRec's checkpoints never do)."
        ) from None
    except (zipfile.BadZipFile, RuntimeError, EOFError, ValueError) as exc:
        raise ValueError(f"{zip_path} is not a readable SB3 checkpoint ({type(exc).__name__}: {exc}).") from None
    saved = (params or {}).get("policy")
    if not isinstance(saved, dict):
        raise ValueError(f"{zip_path}: holds no policy weights; it is not a checkpoint of {what}.")
    expected = model.policy.state_dict()
    missing, extra = sorted(set(expected) - set(saved)), sorted(set(saved) - set(expected))
    shapes = [
        f"{key}: {tuple(saved[key].shape)} in the checkpoint, {tuple(expected[key].shape)} here"
        for key in expected
        if key in saved and tuple(saved[key].shape) != tuple(expected[key].shape)
    ]
    if missing or extra or shapes:
        details = shapes[:3] + [f"missing {k}" for k in missing[:3]] + [f"unexpected {k}" for k in extra[:3]]
        raise ValueError(
            f"{zip_path} does not fit {what} this config builds ({'; '.join(details)}). The checkpoint was made "
            "with another catalogue size, policy or architecture (num_items, policy, net_arch, clean_critic, ...)."
        )
