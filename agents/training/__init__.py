"""Two-player training: the config, the trainer, checkpoints, loading and the evaluation table.

The names below load on first use, so that the config (:mod:`agents.training.config`) and the
checkpoint layout can be imported without stable-baselines3 (``advrec --help`` then works without
the ``[train]`` extra, and ``advrec train`` says which command installs it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Checkpoint": "checkpoint",
    "find_checkpoint": "checkpoint",
    "latest_checkpoint": "checkpoint",
    "list_checkpoints": "checkpoint",
    "DEFENCES": "config",
    "TrainConfig": "config",
    "LoadedRun": "load",
    "load_players": "load",
    "evaluate_recommender": "report",
    "format_table": "report",
    "train_best_response": "report",
    "Phase": "trainer",
    "Trainer": "trainer",
    "phase_plan": "trainer",
}

if TYPE_CHECKING:
    from agents.training.checkpoint import Checkpoint, find_checkpoint, latest_checkpoint, list_checkpoints
    from agents.training.config import DEFENCES, TrainConfig
    from agents.training.load import LoadedRun, load_players
    from agents.training.report import evaluate_recommender, format_table, train_best_response
    from agents.training.trainer import Phase, Trainer, phase_plan


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'agents.training' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"agents.training.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "DEFENCES",
    "Checkpoint",
    "LoadedRun",
    "Phase",
    "TrainConfig",
    "Trainer",
    "evaluate_recommender",
    "find_checkpoint",
    "format_table",
    "latest_checkpoint",
    "list_checkpoints",
    "load_players",
    "phase_plan",
    "train_best_response",
]
