"""What every observation attacker shares: its budget, the attacked slice, the bounds, its seed.

An attacker maps a batch of clean observations to perturbed ones, ``perturb(obs) -> obs'``, changing
only the embedding slice and keeping ``||obs'[slice] - obs[slice]||_p <= eps`` per row (float32
rounding aside, about 1e-7). The perturbed coordinates are also **clipped to the observation space's
bounds** (``clip_range``, [-1, 1] for AdvRec's embedding blocks) so that an attacked observation is
still in the observation space; clipping moves a coordinate back toward its clean value, so it can
only shrink the perturbation, never push it out of the budget.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium import spaces

from advrec_gym._validation import check_float
from advrec_gym.attacks.budget import Budget
from advrec_gym.v0.engine import NUM_SCALARS


def make_budget(budget: Budget | None, eps: float | None, norm: str) -> Budget:
    """The budget from either ``budget=Budget(...)`` or ``eps=`` (+ ``norm=``), never both."""
    if budget is not None:
        if eps is not None:
            raise ValueError(f"Give either budget or eps, not both; got budget={budget} and eps={eps}.")
        if not isinstance(budget, Budget):
            raise TypeError(f"budget must be an advrec_gym.attacks.Budget, got {type(budget).__name__}.")
        return budget
    if eps is None:
        raise ValueError("An attacker needs a budget: pass budget=Budget(eps, norm) or eps=... (and norm=...).")
    return Budget(eps, norm)


def check_slice(name: str, value: Any, obs_dim: int | None = None) -> slice | None:
    """Validate a contiguous, non-empty slice (inside ``obs_dim`` when known)."""
    if value is None:
        return None
    if not isinstance(value, slice) or value.step not in (None, 1):
        raise TypeError(f"{name} must be a contiguous slice (step 1), got {name}={value!r}.")
    if obs_dim is None:
        start, stop = value.start or 0, value.stop
        ok = stop is not None and 0 <= start < stop
    else:
        start, stop, _ = value.indices(obs_dim)
        ok = 0 <= start < stop and (value.stop is None or value.stop <= obs_dim)
    if not ok:
        where = "" if obs_dim is None else f" inside an observation of size {obs_dim}"
        raise ValueError(f"{name} must be a non-empty slice{where}, got {name}={value!r}.")
    return slice(start, stop)


def check_clip_range(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"clip_range must be a (low, high) pair or None, got clip_range={value!r}.")
    low, high = check_float("clip_range[0]", value[0]), check_float("clip_range[1]", value[1])
    if low >= high:
        raise ValueError(f"clip_range must have low < high, got clip_range={value!r}.")
    return low, high


class Attacker:
    """Base class: validated budget, slice, bounds and seed.

    Subclasses implement ``_delta(obs, slice)`` (the raw perturbation of the slice, which
    :meth:`perturb` projects, clips and checks) or, to do it all themselves (on a device),
    ``_perturb_slice(obs, slice)`` returning the perturbed slice.

    Args:
        budget: the ball, or leave ``None`` and give ``eps`` (and ``norm``).
        eps: radius of the ball (raw embedding units), if ``budget`` is not given.
        norm: ``"inf"`` or ``"2"``, with ``eps``.
        embedding_slice: the attacked coordinates; ``None`` means AdvRec's layout, everything but
            the 3 trailing scalars (wrappers set it from ``env.unwrapped.embedding_slice``).
        clip_range: bounds of the attacked coordinates (the observation space's); ``None`` disables.
        seed: seed of the attacker's generator (random starts, noise).
    """

    #: the name :func:`~advrec_gym.attacks.make_attacker` knows this attacker by
    name = "attacker"
    #: whether the attack needs the victim's gradients
    white_box = False

    def __init__(
        self,
        budget: Budget | None = None,
        *,
        eps: float | None = None,
        norm: str = "inf",
        embedding_slice: slice | None = None,
        clip_range: tuple[float, float] | None = (-1.0, 1.0),
        seed: int | None = None,
    ):
        self.budget = make_budget(budget, eps, norm)
        self.embedding_slice = check_slice("embedding_slice", embedding_slice, self._obs_dim())
        self.clip_range = check_clip_range(clip_range)
        self.rng = np.random.default_rng(seed)
        #: the catalogue's item embeddings (num_items, dim), for attacks that reason about what is shown;
        #: set by :meth:`bind` from the env's catalogue when not given
        self.item_embeddings: np.ndarray | None = getattr(self, "item_embeddings", None)
        self._embeddings_given = self.item_embeddings is not None
        self._bound_dim: int | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(eps={self.budget.eps}, norm={self.budget.norm!r})"

    # ------------------------------------------------------------------ public
    def reseed(self, seed: Any) -> None:
        """Restart the attacker's generator from ``seed`` (an int or a sequence of ints)."""
        self.rng = np.random.default_rng(seed)

    def bind(self, observation_space: spaces.Space, embedding_slice: slice | None, item_embeddings: Any = None) -> None:
        """Check that this attacker fits an env's observation space, and adopt its embedding slice.

        Called by the wrappers and by :class:`~advrec_gym.attacks.AttackerEnv` at construction. From
        then on, observations of another width are refused. ``item_embeddings`` (the env's catalogue
        embeddings, what the recommender sees) are adopted unless the attacker was given its own.

        Raises:
            ValueError: the shapes do not match (the victim's observation space, or the slice).
        """
        if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) != 1:
            raise TypeError(f"Attacks need a 1-D Box observation space, got {observation_space}.")
        obs_dim = observation_space.shape[0]
        expected = self._obs_dim()
        if expected is not None and expected != obs_dim:
            raise ValueError(
                f"The env's observations have shape {observation_space.shape}, but the victim of "
                f"{type(self).__name__} expects shape ({expected},): attack the env the victim was trained on."
            )
        if self.embedding_slice is None:
            if embedding_slice is None:
                raise ValueError(
                    f"The env has no embedding_slice (env.unwrapped.embedding_slice): give the attacker "
                    f"embedding_slice=slice(start, stop) within its observations of size {obs_dim}."
                )
            self.embedding_slice = check_slice("embedding_slice", embedding_slice, obs_dim)
        else:
            check_slice("embedding_slice", self.embedding_slice, obs_dim)
        self._bound_dim = obs_dim
        if item_embeddings is not None and not self._embeddings_given:
            self.item_embeddings = np.asarray(item_embeddings, dtype=np.float32)

    def perturb(self, obs: np.ndarray) -> np.ndarray:
        """Return perturbed copies of ``obs`` (shape (n, obs_dim) or (obs_dim,)); ``obs`` is not modified.

        Only the embedding slice changes; every row stays in the budget and in ``clip_range``.
        """
        x, single = self._check_obs(obs)
        out = x.copy()
        if self.budget.eps > 0.0 and len(x):
            sl = self._slice(x.shape[1])
            out[:, sl] = self._perturb_slice(x, sl)
        return out[0] if single else out

    def apply(self, clean: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """``clean + delta`` clipped to the bounds, with the step back into the budget (see the module doc)."""
        low, high = self._bounds(clean)
        delta = self.budget.project(np.clip(clean + delta, low, high) - clean)
        return np.clip(clean + delta, low, high).astype(np.float32)

    # ------------------------------------------------------------------ for subclasses
    def _perturb_slice(self, obs: np.ndarray, sl: slice) -> np.ndarray:
        """The perturbed embedding slice (n, slice size) of the batch ``obs``: ``apply`` of ``_delta``."""
        return self.apply(obs[:, sl], np.asarray(self._delta(obs, sl), dtype=np.float32))

    def _delta(self, obs: np.ndarray, sl: slice) -> np.ndarray:
        """The perturbation (n, slice size) of the batch ``obs``; projected again by :meth:`apply`."""
        raise NotImplementedError

    def _obs_dim(self) -> int | None:
        """The observation size the attacker needs (its victim's), when known."""
        return None

    def _bounds(self, clean):
        """Per-coordinate bounds that contain the clean value, so clipping never grows a perturbation."""
        if self.clip_range is None:
            return -math.inf, math.inf
        low, high = self.clip_range
        if _is_torch(clean):
            return clean.clamp(max=low), clean.clamp(min=high)
        return np.minimum(clean, low), np.maximum(clean, high)

    def _slice(self, obs_dim: int) -> slice:
        if self.embedding_slice is None:
            return check_slice("embedding_slice", slice(0, obs_dim - NUM_SCALARS), obs_dim)
        if self.embedding_slice.stop > obs_dim:
            raise ValueError(f"embedding_slice={self.embedding_slice} does not fit observations of size {obs_dim}.")
        return self.embedding_slice

    def _check_obs(self, obs: Any) -> tuple[np.ndarray, bool]:
        x = np.asarray(obs, dtype=np.float32)
        single = x.ndim == 1
        x = x[None] if single else x
        expected = self._obs_dim() or self._bound_dim
        if x.ndim != 2 or (expected is not None and x.shape[1] != expected):
            want = f"(n, {expected})" if expected is not None else "(n, obs_dim)"
            raise ValueError(f"obs must have shape {want} or ({expected or 'obs_dim'},), got shape {np.shape(obs)}.")
        if not np.all(np.isfinite(x)):
            raise ValueError("obs must be finite: it contains NaN or inf.")
        return x, single


def env_item_embeddings(env: Any) -> np.ndarray | None:
    """The item embeddings the recommender of ``env`` sees (``env.unwrapped.catalogue.embeddings``), if any."""
    catalogue = getattr(getattr(env, "unwrapped", env), "catalogue", None)
    emb = getattr(catalogue, "embeddings", None)
    return None if emb is None else np.asarray(emb, dtype=np.float32)


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")
