"""Load a checkpoint's players for evaluation, without unpickling anything.

The models are rebuilt from the checkpoint's ``state.json`` (plain JSON: the run's config) and only
their weights are read from the SB3 zips (``torch.load(weights_only=True)`` inside
``model.set_parameters``). See the trust model in :mod:`agents.training.checkpoint`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from stable_baselines3 import PPO

from advrec_gym.device import resolve_device
from agents.training.checkpoint import Checkpoint, check_weights, find_checkpoint
from agents.training.config import TrainConfig
from agents.training.players import (
    adversary_env,
    make_adversary,
    make_recommender,
    recommender_view,
    sb3_env,
)


@dataclass
class LoadedRun:
    """A checkpoint's config and players (``adversary`` is ``None`` when the run had none)."""

    checkpoint: Checkpoint
    config: TrainConfig
    recommender: PPO
    adversary: PPO | None


def load_players(path: str | os.PathLike, *, device: str = "auto", **overrides: Any) -> LoadedRun:
    """Rebuild the players of the checkpoint at ``path`` (a checkpoint directory or a run directory: its latest).

    Args:
        path: the checkpoint.
        device: torch device for the models.
        **overrides: config fields to change for evaluation (e.g. ``eps``, ``norm``, ``pgd_steps``).

    Raises:
        FileNotFoundError: no checkpoint at ``path``.
        ValueError: a bad override, an unavailable device, or weights that do not fit the config's models.
    """
    checkpoint = find_checkpoint(path)
    config = checkpoint.config.replace(device=device, **overrides)
    torch_device = resolve_device(device)
    recommender = make_recommender(config, sb3_env(recommender_view(config)), torch_device)
    check_weights(recommender, checkpoint.recommender_path, "the recommender")
    recommender.set_parameters(str(checkpoint.recommender_path), device=torch_device)
    adversary = None
    if checkpoint.adversary_path is not None:
        adversary = make_adversary(config, adversary_env(config, recommender), torch_device)
        check_weights(adversary, checkpoint.adversary_path, "the adversary")
        adversary.set_parameters(str(checkpoint.adversary_path), device=torch_device)
    return LoadedRun(checkpoint, config, recommender, adversary)
