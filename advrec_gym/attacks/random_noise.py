"""Random noise in the ball: the floor every defence must beat."""

from __future__ import annotations

import numpy as np

from advrec_gym.attacks.base import Attacker


class RandomNoise(Attacker):
    """Uniform noise in the budget's ball, drawn from the attacker's seeded generator (black-box).

    Takes the keyword arguments of :class:`~advrec_gym.attacks.Attacker` (``budget`` or ``eps`` +
    ``norm``, ``embedding_slice``, ``clip_range``, ``seed``); needs no victim.

    Example:
        >>> attacker = RandomNoise(eps=0.01, norm="inf", seed=0)
        >>> perturbed = attacker.perturb(obs_batch)  # doctest: +SKIP
    """

    name = "random"

    def _delta(self, obs: np.ndarray, sl: slice) -> np.ndarray:
        return self.budget.sample(self.rng, (obs.shape[0], sl.stop - sl.start))
