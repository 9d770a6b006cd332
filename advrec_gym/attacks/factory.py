"""Build an attacker by name (for configs, the CLI and the leaderboard)."""

from __future__ import annotations

from typing import Any

from advrec_gym._validation import check_choice
from advrec_gym.attacks.base import Attacker
from advrec_gym.attacks.budget import Budget
from advrec_gym.attacks.gradient import FGSM, PGD, CriticPGD
from advrec_gym.attacks.learned import LearnedAdversary
from advrec_gym.attacks.random_noise import RandomNoise

ATTACKERS: dict[str, type[Attacker]] = {
    "random": RandomNoise,
    "fgsm": FGSM,
    "pgd": PGD,
    "critic": CriticPGD,
    "learned": LearnedAdversary,
}


def make_attacker(
    name: str,
    victim: Any = None,
    budget: Budget | None = None,
    *,
    eps: float | None = None,
    norm: str = "inf",
    adversary: Any = None,
    **kwargs: Any,
) -> Attacker:
    """Build the attacker called ``name`` (``"random"``, ``"fgsm"``, ``"pgd"``, ``"critic"``, ``"learned"``).

    Args:
        name: the attacker's name (unknown names get a "did you mean").
        victim: the SB3 model or policy under attack (white-box attackers need it; ``"random"``
            ignores it; ``"learned"`` uses it only for an adversary that observes its probabilities).
        budget: the ball, or give ``eps`` and ``norm``.
        adversary: the trained attacker policy, for ``"learned"``.
        **kwargs: the attacker's own keyword arguments (``steps=``, ``objective=``, ``seed=`` ...).

    Example:
        >>> attacker = make_attacker("pgd", model, eps=0.01, norm="inf", steps=10, seed=0)   # doctest: +SKIP
    """
    check_choice("name", name, ATTACKERS)
    if name == "random":
        return RandomNoise(budget, eps=eps, norm=norm, **kwargs)
    if name == "learned":
        if adversary is None:
            raise ValueError("make_attacker('learned', ...) needs adversary=<a policy trained on AttackerEnv>.")
        return LearnedAdversary(adversary, budget, eps=eps, norm=norm, victim=victim, **kwargs)
    if adversary is not None:
        raise ValueError(f"adversary is only used by the 'learned' attacker, got name={name!r}.")
    return ATTACKERS[name](victim, budget, eps=eps, norm=norm, **kwargs)
