"""The one batched simulator under both the single env and the vector env.

All state lives in preallocated arrays of shape (num_users, ...); ``step`` has no per-user Python
loop. Each user slot owns a ``numpy.random.Generator``: it draws the user at reset and, in chunks of
``UNIFORM_CHUNK``, the uniforms of the click draws, so a slot's trajectory depends only on its own
seed and actions, never on how many slots share the batch. That is what makes the single env and
the vector env produce identical trajectories.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from advrec_gym.catalogue import Catalogue
from advrec_gym.choice import LogitChoice
from advrec_gym.users import UserModel

UNIFORM_CHUNK = 128
NUM_SCALARS = 3
SCALAR_NAMES = ("last_click", "click_rate_ema", "episode_ctr")
REWARDS = ("click", "engagement")
_OBS_VIEWS = ("clicked_ema", "skipped_ema", "shown_ema", "scalars")


@dataclass(frozen=True)
class HistoryRates:
    """Update rates of the exponential averages that make up the observation (each in (0, 1])."""

    clicked: float = 0.3
    skipped: float = 0.3
    shown: float = 0.5
    click_rate: float = 0.3


class Engine:
    """Batched user simulation over one catalogue.

    Args:
        catalogue: the items.
        num_users: batch size (number of env slots).
        user_model: how users are drawn.
        choice_model: how users choose.
        slate_size: items shown per step.
        reward: ``"click"`` (1 per click) or ``"engagement"`` (the clicked item's affinity, clipped to [0, 1]).
        skip_cost: extra budget a step without a click costs (a step with a click costs 1).
        rates: the history averages' update rates.
        max_episode_steps: truncate after this many steps (``None``: never; the single env leaves
            this to Gymnasium's ``TimeLimit``).
    """

    def __init__(
        self,
        catalogue: Catalogue,
        num_users: int,
        user_model: UserModel,
        choice_model: LogitChoice,
        slate_size: int,
        reward: str,
        skip_cost: float,
        rates: HistoryRates,
        max_episode_steps: int | None,
    ):
        self.catalogue = catalogue
        self.num_users = n = num_users
        self.user_model = user_model
        self.choice_model = choice_model
        self.slate_size = slate_size
        self.reward_type = reward
        self.skip_cost = np.float32(skip_cost)
        self.rates = rates
        self.max_episode_steps = max_episode_steps
        self.embeddings = catalogue.embeddings
        self.centroids = catalogue.topic_centroids()
        self.topic_prior = np.bincount(
            catalogue.topic_index, weights=catalogue.popularity, minlength=catalogue.num_topics
        )
        self.topic_prior /= self.topic_prior.sum()
        d = self.dim = catalogue.dim
        self.obs_dim = 3 * d + NUM_SCALARS
        self.embedding_slice = slice(0, 3 * d)
        # The observation buffer *is* the history state: the averages are views into it, so
        # building an observation costs nothing beyond the updates themselves.
        self.obs = np.zeros((n, self.obs_dim), dtype=np.float32)
        self._make_views()
        self.interest = np.zeros((n, d), dtype=np.float32)
        self.budget = np.zeros(n, dtype=np.float32)
        self.drift = np.zeros(n, dtype=np.float32)
        self.fatigue = np.zeros(n, dtype=np.float32)
        self.t = np.zeros(n, dtype=np.int64)
        self.clicks = np.zeros(n, dtype=np.int64)
        self.uniforms = np.zeros((n, UNIFORM_CHUNK), dtype=np.float64)
        self.rngs: list[np.random.Generator | None] = [None] * n
        self._rows = np.arange(n)
        self._tmp = np.empty((n, d), dtype=np.float32)
        self._e = np.empty((n, slate_size, d), dtype=np.float32)
        self._zero_slots = np.zeros(n, dtype=np.int64)
        self._steps_to_refill = UNIFORM_CHUNK  # a lower bound on the steps until some slot needs new uniforms

    def _make_views(self) -> None:
        d = self.dim
        self.clicked_ema = self.obs[:, 0:d]
        self.skipped_ema = self.obs[:, d : 2 * d]
        self.shown_ema = self.obs[:, 2 * d : 3 * d]
        self.scalars = self.obs[:, 3 * d :]

    # Pickle would copy the views as separate arrays and cut them off from ``obs``: rebuild them instead.
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for name in _OBS_VIEWS:
            del state[name]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._make_views()

    # ------------------------------------------------------------------ reset
    def reset_users(self, rows: np.ndarray) -> None:
        """Start a new episode in each slot of ``rows`` (drawing from that slot's generator)."""
        for i in np.asarray(rows).ravel():
            rng = self.rngs[i]
            if rng is None:
                raise RuntimeError("Slot has no generator: call reset() before step().")
            u, budget, drift, fatigue = self.user_model.sample(rng, self.centroids, self.topic_prior)
            self.interest[i] = u
            self.budget[i], self.drift[i], self.fatigue[i] = budget, drift, fatigue
            self.uniforms[i] = rng.random(UNIFORM_CHUNK)
        self.obs[rows] = 0.0
        self.t[rows] = 0
        self.clicks[rows] = 0

    # ------------------------------------------------------------------ step
    def step(self, slates: np.ndarray):
        """Advance every slot by one step.

        Args:
            slates: validated int64 array (num_users, slate_size) of item indices.

        Returns:
            (reward float32 (n,), terminated bool (n,), truncated bool (n,), clicked_item int64 (n,)
            with -1 where there was no click). The observation is ``self.obs`` (updated in place).
        """
        rates, cm, rows, n = self.rates, self.choice_model, self._rows, self.num_users
        e = np.take(self.embeddings, slates, axis=0, out=self._e)  # (n, k, d), into a reused buffer
        affinity = np.einsum("nkd,nd->nk", e, self.interest)
        similarity = np.einsum("nkd,nd->nk", e, self.shown_ema)
        fatigue = cm.fatigue(similarity, self.fatigue[:, None])
        valid = _first_occurrence(slates) if self.slate_size > 1 else None
        probs = cm.probabilities(affinity, fatigue, valid)
        u = self.uniforms[rows, self.t % UNIFORM_CHUNK]
        choice = cm.choose(probs, u)  # 0 = no click
        clicked = choice > 0
        num_clicked = int(np.count_nonzero(clicked))
        if self.slate_size == 1:
            slot = self._zero_slots
            clicked_item = np.where(clicked, slates[:, 0], -1)
        else:
            slot = np.maximum(choice - 1, 0)
            clicked_item = np.where(clicked, slates[rows, slot], -1)

        if self.reward_type == "click":
            reward = clicked.astype(np.float32)
        else:
            reward = np.where(clicked, np.clip(affinity[rows, slot], 0.0, 1.0), 0.0).astype(np.float32)

        # History averages (views into self.obs), then interest drift toward clicked items. Each update
        # runs on the few rows it concerns (fancy indexing) or, when they are most rows, as a masked
        # pass over all rows: the same float32 operations either way, so the results are identical.
        shown = e[:, 0] if self.slate_size == 1 else e.mean(axis=1)
        _ema(self.shown_ema, shown, rates.shown, self._tmp)
        if num_clicked and 2 * num_clicked >= n:
            chosen = shown if self.slate_size == 1 else e[rows, slot]
            _masked_ema(self.clicked_ema, chosen, rates.clicked, clicked, self._tmp)
            u_new = self._tmp
            np.subtract(chosen, self.interest, out=u_new)
            u_new *= self.drift[:, None]
            u_new += self.interest
            u_new /= _row_norms(u_new)
            np.copyto(self.interest, u_new, where=clicked[:, None])
        elif num_clicked:
            c = np.flatnonzero(clicked)
            e_click = e[c, slot[c]]
            self.clicked_ema[c] += rates.clicked * (e_click - self.clicked_ema[c])
            u_new = self.interest[c] + self.drift[c, None] * (e_click - self.interest[c])
            u_new /= _row_norms(u_new)
            self.interest[c] = u_new
        if num_clicked < n:
            if 2 * (n - num_clicked) >= n:
                _masked_ema(self.skipped_ema, shown, rates.skipped, ~clicked, self._tmp)
            else:
                s = np.flatnonzero(~clicked)
                self.skipped_ema[s] += rates.skipped * (shown[s] - self.skipped_ema[s])

        self.t += 1
        self.clicks += clicked
        self.budget -= 1.0 + self.skip_cost * (~clicked)
        click_f = clicked.astype(np.float32)
        self.scalars[:, 0] = click_f
        self.scalars[:, 1] += rates.click_rate * (click_f - self.scalars[:, 1])
        self.scalars[:, 2] = self.clicks / self.t

        # Refill a slot's uniforms when its chunk is used up. Every slot's position in its chunk moves
        # by one per step (a reset starts a fresh chunk), so the first refill is at least
        # ``_steps_to_refill`` steps away and the slots need no check until then.
        self._steps_to_refill -= 1
        if self._steps_to_refill <= 0:
            position = self.t % UNIFORM_CHUNK
            for i in np.flatnonzero(position == 0):
                self.uniforms[i] = self.rngs[i].random(UNIFORM_CHUNK)
            self._steps_to_refill = UNIFORM_CHUNK - int(position.max())

        terminated = self.budget <= 0.0
        if self.max_episode_steps is None:
            truncated = np.zeros(self.num_users, dtype=bool)
        else:
            truncated = (self.t >= self.max_episode_steps) & ~terminated
        return reward, terminated, truncated, clicked_item

    # ------------------------------------------------------------------ hidden-state access (oracle only)
    def click_probabilities(self) -> np.ndarray:
        """P(click) of every item shown alone, shape (num_users, num_items), from the hidden state.

        Only reference policies (the oracle) may read this: it uses the hidden interests.
        """
        cm = self.choice_model
        affinity = self.interest @ self.embeddings.T
        fatigue = cm.fatigue(self.shown_ema @ self.embeddings.T, self.fatigue[:, None])
        v = (affinity - fatigue - cm.no_click_affinity) / cm.temperature
        return 1.0 / (1.0 + np.exp(-v))


def _ema(avg: np.ndarray, x: np.ndarray, rate: float, tmp: np.ndarray) -> None:
    """avg <- (1 - rate) * avg + rate * x, in place, without temporaries."""
    np.subtract(x, avg, out=tmp)
    tmp *= rate
    avg += tmp


def _row_norms(x: np.ndarray) -> np.ndarray:
    """L2 norm of each row, shape (m, 1): ``np.linalg.norm(x, axis=1, keepdims=True)`` without its overhead."""
    return np.sqrt(np.add.reduce(x * x, axis=1, keepdims=True))


def _masked_ema(avg: np.ndarray, x: np.ndarray, rate: float, mask: np.ndarray, tmp: np.ndarray) -> None:
    """avg <- avg + rate * (x - avg) on the rows where ``mask`` is True, in place.

    The same float32 operations, in the same order, as ``avg[rows] += rate * (x[rows] - avg[rows])``
    (so the results are bit for bit the same), without the gather and scatter of fancy indexing.
    """
    np.subtract(x, avg, out=tmp)
    tmp *= rate
    np.add(avg, tmp, out=avg, where=mask[:, None])


def _first_occurrence(slates: np.ndarray) -> np.ndarray:
    """Mask that is True at the first occurrence of each item in its slate row (duplicates False)."""
    k = slates.shape[1]
    same = slates[:, :, None] == slates[:, None, :]  # (n, k, k)
    earlier = np.tril(np.ones((k, k), dtype=bool), -1)  # earlier[j, i]: i < j
    return ~np.any(same & earlier, axis=2)
