"""What the argmax recommenders' tests share: observations of their own rollouts, and the attacks' check."""

from __future__ import annotations

import numpy as np


def own_rollout_observations(policy, venv, steps: int = 8, seed: int = 3) -> np.ndarray:
    """The observations ``policy`` meets acting on ``venv`` for ``steps`` steps from a reset at ``seed``."""
    obs, _ = venv.reset(seed=seed)
    rows = []
    for _ in range(steps):
        obs, *_ = venv.step(policy.predict(obs)[0])
        rows.append(obs.copy())
    return np.concatenate(rows)


def check_the_suite_moves_an_argmax_policy(policy, obs: np.ndarray) -> None:
    """Every suite attack but the critic's applies, and top-k PGD and the query attack move the item
    the policy shows far more often than random noise of the same budget."""
    from advrec_gym.attacks import SUITE, Budget, RandomNoise, applicable_attacks, attack_surface, make_attacker

    assert attack_surface(policy) == {"scores", "distribution"}
    assert set(SUITE) - set(applicable_attacks(policy, SUITE)) == {"critic"}  # no value head
    budget = Budget(0.05, "inf")
    clean = policy.predict(obs)[0]

    def changed(attacker) -> float:
        return float(np.mean(policy.predict(attacker.perturb(obs))[0] != clean))

    noise = changed(RandomNoise(budget, seed=0))
    topk = changed(make_attacker("pgd-topk", policy, budget, k=3, seed=0))
    query = changed(make_attacker("query", policy, budget, k=3, queries=300, seed=0))
    assert topk > noise + 0.3 and query > noise + 0.2, (noise, topk, query)
