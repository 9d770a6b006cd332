"""The user population: hidden interests and traits, sampled per user from that user's generator.

All user state is held by :class:`the engine` in arrays of shape (num_users, ...);
this module only describes how a user is drawn at the start of an episode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from advrec_gym._validation import check_float, check_int


@dataclass(frozen=True)
class UserModel:
    """How users are drawn at reset.

    A user's hidden interest is a unit vector near a Dirichlet-weighted mix of 1 to ``max_topics``
    topic centroids of the catalogue (topics drawn without replacement with probability proportional
    to the topic's share of the catalogue's popularity prior, so popular topics have more fans), plus isotropic Gaussian noise whose expected norm is
    ``interest_noise``::

        u = normalise(m / ||m|| + interest_noise * z / sqrt(dim)),   m = sum_k w_k c_{t_k},  z ~ N(0, I)

    Traits, each uniform in its range: ``budget`` (time the user is willing to spend, in steps),
    ``drift`` (how far the interest moves toward a clicked item) and ``fatigue`` (how strongly
    near-repeats are punished).

    Args:
        max_topics: most topics per user (at least one).
        interest_noise: norm of the noise added to the topic mix.
        budget_range: (low, high) of the initial time budget.
        drift_range: (low, high) of the drift rate, within [0, 1].
        fatigue_range: (low, high) of the fatigue sensitivity, non-negative.
    """

    max_topics: int = 3
    interest_noise: float = 0.5
    budget_range: tuple[float, float] = (30.0, 60.0)
    drift_range: tuple[float, float] = (0.0, 0.1)
    fatigue_range: tuple[float, float] = (0.5, 1.5)

    def __post_init__(self):
        check_int("max_topics", self.max_topics, low=1)
        check_float("interest_noise", self.interest_noise, low=0.0)
        _check_range("budget_range", self.budget_range, low=0.0, low_open=True)
        _check_range("drift_range", self.drift_range, low=0.0, high=1.0)
        _check_range("fatigue_range", self.fatigue_range, low=0.0)

    def sample(
        self, rng: np.random.Generator, centroids: np.ndarray, topic_prior: np.ndarray
    ) -> tuple[np.ndarray, float, float, float]:
        """Draw one user: (interest (dim,), budget, drift, fatigue), using only ``rng``.

        Args:
            rng: the user slot's generator.
            centroids: unit topic centroids, shape (num_topics, dim).
            topic_prior: probability of each topic (sums to 1).
        """
        num_topics, dim = centroids.shape
        k = int(rng.integers(1, min(self.max_topics, num_topics) + 1))
        topics = rng.choice(num_topics, size=k, replace=False, p=topic_prior)
        weights = rng.dirichlet(np.ones(k))
        mix = weights @ centroids[topics].astype(np.float64)
        mix /= max(np.linalg.norm(mix), 1e-12)
        u = mix + self.interest_noise * rng.standard_normal(dim) / np.sqrt(dim)
        u /= max(np.linalg.norm(u), 1e-12)
        budget = rng.uniform(*self.budget_range)
        drift = rng.uniform(*self.drift_range)
        fatigue = rng.uniform(*self.fatigue_range)
        return u.astype(np.float32), budget, drift, fatigue


def _check_range(name, value, *, low=None, high=None, low_open=False):
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise ValueError(f"{name} must be a (low, high) pair, got {name}={value!r}.")
    lo = check_float(f"{name}[0]", value[0], low=low, high=high, low_open=low_open)
    hi = check_float(f"{name}[1]", value[1], low=low, high=high, low_open=low_open)
    if hi < lo:
        raise ValueError(f"{name} must have low <= high, got {name}={tuple(value)}.")
