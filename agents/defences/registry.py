"""The defences, by name: which attack the recommender trains against, on what share of its steps.

| name | the recommender trains on | reference |
|---|---|---|
| ``none`` | clean observations | vanilla PPO |
| ``noise`` | uniform noise in the budget on a share ``rho`` of steps | data augmentation; the floor |
| ``pgd`` | PGD-K against its own current policy on a share ``rho`` of steps | Madry et al. 2018; Pattanaik et al. 2018 |
| ``atla`` | the learned adversary of the previous attacker phase, on a share ``rho`` | Zhang et al. 2021 (ATLA) |
| ``sa`` | clean observations, plus ``kappa * KL(pi(o) || pi(o + d))`` in the loss | Zhang et al. 2020 (SA-PPO) |

Every defence can add the clean critic (``clean_critic=True``): the critic reads the clean
observation while the actor reads the attacked one (:mod:`agents.policies.clean_critic`).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from advrec_gym._validation import check_choice, check_float, check_int
from advrec_gym.attacks import PGD, Attacker, Budget, LearnedAdversary, RandomNoise
from advrec_gym.wrappers import AdversarialObservation

DEFENCES = {
    "none": "vanilla PPO on clean observations",
    "noise": "PPO with uniform noise in the budget on a share rho of its steps",
    "pgd": "PGD adversarial training: PGD-K against the current policy on a share rho of steps",
    "atla": "the two-player game: alternate recommender phases (against the learned adversary) and adversary phases",
    "sa": "SA-PPO: clean observations plus a smoothness regulariser kappa * KL(pi(o) || pi(o + d)), d from a few PGD steps",
}

#: defences that train an adversary of their own (in alternating phases)
GAME_DEFENCES = ("atla",)


def training_attacker(
    defence: str,
    recommender: Any,
    adversary: Any,
    budget: Budget,
    *,
    pgd_steps: int = 10,
    seed: int | None = None,
) -> Attacker | None:
    """The attack the recommender trains against under ``defence`` (``None``: clean training).

    Args:
        defence: a name in :data:`DEFENCES` (unknown names get a "did you mean").
        recommender: the recommender being trained (the SB3 model); PGD attacks its live policy.
        adversary: the learned adversary (SB3 model on ``AttackerEnv``), for ``atla``; ``None``
            before the first attacker phase, when ``atla`` trains clean.
        budget: the attack budget.
        pgd_steps: K of the PGD attack.
        seed: the attack's seed.
    """
    check_choice("defence", defence, DEFENCES)
    if defence in ("none", "sa") or budget.eps == 0.0:  # sa regularises the loss instead
        return None
    if defence == "noise":
        return RandomNoise(budget, seed=seed)
    if defence == "pgd":
        return PGD(recommender, budget, steps=check_int("pgd_steps", pgd_steps, low=1), seed=seed)
    if adversary is None:
        return None
    return LearnedAdversary(adversary, budget, seed=seed)


def attacked_env(venv: gym.vector.VectorEnv, attacker: Attacker | None, rho: float, seed: int | None = None):
    """``venv`` with ``attacker`` on a share ``rho`` of each slot's steps (``venv`` itself when there is none)."""
    rho = check_float("rho", rho, low=0.0, high=1.0)
    if attacker is None or rho == 0.0:
        return venv
    return AdversarialObservation(venv, attacker, ratio=rho, seed=seed)
