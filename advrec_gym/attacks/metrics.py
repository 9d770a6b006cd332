"""How much an attack hurts: the greedy action's change on a batch, and (through the one evaluator) return under attack.

Generic over policies: anything with SB3's ``predict(obs, deterministic=...)`` (SB3 models and
policies, the baselines), on any same-step-autoreset vector env (``AdvRecVectorEnv``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from advrec_gym.attacks.base import Attacker
from advrec_gym.attacks.victim import VictimActor


def action_changed(policy: Any, clean_obs: np.ndarray, perturbed_obs: np.ndarray) -> np.ndarray:
    """Per row, whether the policy's greedy action (any slate position) differs between the two batches."""
    actor = VictimActor(policy)
    clean, perturbed = actor.greedy(np.asarray(clean_obs)), actor.greedy(np.asarray(perturbed_obs))
    return (clean != perturbed).reshape(len(clean), -1).any(axis=1)


def attack_success_rate(policy: Any, attacker: Attacker, obs: np.ndarray) -> float:
    """Share of the observations ``obs`` (n, obs_dim) on which the attack changes the greedy action."""
    obs = np.asarray(obs, dtype=np.float32)
    return float(action_changed(policy, obs, attacker.perturb(obs)).mean())


def evaluate_attack(
    venv: Any,
    policy: Any,
    attacker: Attacker | None,
    *,
    episodes: int,
    seed: int,
    deterministic: bool = False,
    ratio: float = 1.0,
) -> Any:
    """:func:`advrec_gym.evaluation.evaluate` with the attacker as a positional argument (the project's one evaluator).

    Returns its :class:`~advrec_gym.evaluation.EvalReport`.
    """
    from advrec_gym.evaluation import evaluate  # the evaluator imports the attacks package: import it late

    return evaluate(
        venv, policy, episodes=episodes, seed=seed, deterministic=deterministic, attacker=attacker, ratio=ratio
    )
