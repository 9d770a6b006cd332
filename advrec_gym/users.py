"""Who the simulated users are: how a user's hidden interest and traits are drawn at episode start.

:class:`UserModel` draws interests near a mix of topic centroids (the synthetic catalogue's users);
:class:`UserPopulation` draws from a fixed set of interest vectors (e.g. users fitted to real ratings).
All user state is held by the engine in arrays of shape (num_users, ...); this module only
describes how a user is drawn.
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
        check_range("budget_range", self.budget_range, low=0.0, low_open=True)
        check_range("drift_range", self.drift_range, low=0.0, high=1.0)
        check_range("fatigue_range", self.fatigue_range, low=0.0)

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


class UserPopulation:
    """A fixed population of users (e.g. fitted to real ratings): each episode draws one of them.

    At every episode start a row of ``interests`` is drawn (with probability proportional to
    ``weights``, uniform by default) and copied into the user's hidden interest; the traits are drawn
    from their ranges as in :class:`UserModel`. Interests may have any norm: the choice model uses the
    affinity ``<u, e>`` as it is, and drift keeps the norm.

    Args:
        interests: float (num_users, dim), one interest vector per user, in the catalogue's embedding space.
        weights: non-negative (num_users,), not all zero; ``None`` is uniform.
        budget_range, drift_range, fatigue_range: as in :class:`UserModel`.
        name: a label for reports (e.g. "movielens train users").
    """

    def __init__(
        self,
        interests: np.ndarray,
        weights: np.ndarray | None = None,
        *,
        budget_range: tuple[float, float] = (30.0, 60.0),
        drift_range: tuple[float, float] = (0.0, 0.1),
        fatigue_range: tuple[float, float] = (0.5, 1.5),
        name: str = "",
    ):
        u = np.asarray(interests, dtype=np.float32)
        if u.ndim != 2 or u.shape[0] < 1 or u.shape[1] < 1:
            raise ValueError(f"interests must have shape (num_users, dim) with at least one user, got {u.shape}.")
        if not np.all(np.isfinite(u)) or np.any(np.linalg.norm(u, axis=1) == 0):
            raise ValueError("interests must be finite and have no all-zero row.")
        if weights is None:
            w = np.full(u.shape[0], 1.0 / u.shape[0])
        else:
            w = np.asarray(weights, dtype=np.float64)
            if w.shape != (u.shape[0],) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
                raise ValueError(
                    f"weights must be {u.shape[0]} finite non-negative numbers, not all zero, got shape {w.shape}."
                )
            w = w / w.sum()
        check_range("budget_range", budget_range, low=0.0, low_open=True)
        check_range("drift_range", drift_range, low=0.0, high=1.0)
        check_range("fatigue_range", fatigue_range, low=0.0)
        u.setflags(write=False)
        w.setflags(write=False)
        self.interests, self.weights = u, w
        self.budget_range, self.drift_range = tuple(map(float, budget_range)), tuple(map(float, drift_range))
        self.fatigue_range = tuple(map(float, fatigue_range))
        self.name = str(name)

    @property
    def num_users(self) -> int:
        return int(self.interests.shape[0])

    @property
    def dim(self) -> int:
        return int(self.interests.shape[1])

    def __repr__(self) -> str:
        label = f"{self.name!r}, " if self.name else ""
        return f"UserPopulation({label}num_users={self.num_users}, dim={self.dim})"


def check_range(name, value, *, low=None, high=None, low_open=False):
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise ValueError(f"{name} must be a (low, high) pair, got {name}={value!r}.")
    lo = check_float(f"{name}[0]", value[0], low=low, high=high, low_open=low_open)
    hi = check_float(f"{name}[1]", value[1], low=low, high=high, low_open=low_open)
    if hi < lo:
        raise ValueError(f"{name} must have low <= high, got {name}={tuple(value)}.")
