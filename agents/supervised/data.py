"""Click data for the supervised route: (observation, item, click) examples, split by user.

Two sources give examples with the same layout as AdvRec-v0's observation, so one click model serves
both and its user tower sees exactly the features the RL recommender sees:

* :func:`collect_env_logs`: interactions of AdvRec-v0 users with a seeded logging policy (random or
  popularity), each example carrying the logging propensity ``P(item | observation)``.
* :func:`from_movielens_ratings`: MovieLens-format ratings replayed in time order per user; a rating
  >= 4 is a click, and ``negatives`` items the user never rated are added as non-clicks. The
  observation is rebuilt from the user's earlier ratings with the env's history rates.

:func:`split_by_user` splits train / validation / test with no user in two splits.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from advrec_gym._validation import check_choice, check_float, check_int
from advrec_gym.catalogue import Catalogue
from advrec_gym.v0.engine import NUM_SCALARS, HistoryRates

LOGGING_POLICIES = ("random", "popularity")
SPLIT_NAMES = ("train", "validation", "test")


@dataclass(frozen=True, eq=False)
class ClickData:
    """A set of click examples (one row per example).

    Attributes:
        observations: float32 (n, obs_dim), the env-style observation before the item was shown.
        items: int64 (n,), the catalogue row of the shown item.
        clicks: float32 (n,), 1 for a click, else 0.
        users: int64 (n,), who saw it (an env episode, or a MovieLens user id).
        propensities: float64 (n,), the logging policy's probability of showing the item; NaN when
            unknown (MovieLens).
    """

    observations: np.ndarray
    items: np.ndarray
    clicks: np.ndarray
    users: np.ndarray
    propensities: np.ndarray

    def __post_init__(self):
        obs = np.asarray(self.observations, dtype=np.float32)
        if obs.ndim != 2:
            raise ValueError(f"observations must have shape (n, obs_dim), got {obs.shape}.")
        n = obs.shape[0]
        columns = {
            "items": np.asarray(self.items, dtype=np.int64),
            "clicks": np.asarray(self.clicks, dtype=np.float32),
            "users": np.asarray(self.users, dtype=np.int64),
            "propensities": np.asarray(self.propensities, dtype=np.float64),
        }
        for name, arr in columns.items():
            if arr.shape != (n,):
                raise ValueError(f"{name} must have shape ({n},) (one per observation), got {arr.shape}.")
        if not np.all(np.isfinite(obs)):
            raise ValueError("observations must be finite.")
        if not np.all((columns["clicks"] == 0) | (columns["clicks"] == 1)):
            raise ValueError("clicks must be 0 or 1.")
        if np.any(columns["items"] < 0):
            raise ValueError("items must be catalogue row indices >= 0.")
        p = columns["propensities"]
        if np.any((p <= 0) | (p > 1)):
            raise ValueError("propensities must be in (0, 1] (or NaN when unknown).")
        object.__setattr__(self, "observations", obs)
        for name, arr in columns.items():
            object.__setattr__(self, name, arr)

    def __len__(self) -> int:
        return int(self.items.shape[0])

    def __repr__(self) -> str:
        return f"ClickData(examples={len(self)}, users={self.num_users}, click_rate={self.click_rate:.3f})"

    @property
    def obs_dim(self) -> int:
        return int(self.observations.shape[1])

    @property
    def num_users(self) -> int:
        return int(np.unique(self.users).size)

    @property
    def click_rate(self) -> float:
        return float(self.clicks.mean()) if len(self) else float("nan")

    def subset(self, index: np.ndarray) -> ClickData:
        """The examples at ``index`` (an integer or boolean array), in that order."""
        return ClickData(
            self.observations[index], self.items[index], self.clicks[index], self.users[index], self.propensities[index]
        )

    def check_items(self, num_items: int) -> None:
        """Raise if an example shows an item outside a catalogue of ``num_items`` items."""
        if len(self) and int(self.items.max()) >= num_items:
            raise ValueError(
                f"the data shows item {int(self.items.max())}, but the catalogue has only {num_items} items: "
                "use the catalogue the data was collected with."
            )

    @staticmethod
    def concatenate(parts: Sequence[ClickData]) -> ClickData:
        """All examples of ``parts``, in order."""
        if not parts:
            raise ValueError("concatenate needs at least one ClickData, got none.")
        return ClickData(
            np.concatenate([p.observations for p in parts]),
            np.concatenate([p.items for p in parts]),
            np.concatenate([p.clicks for p in parts]),
            np.concatenate([p.users for p in parts]),
            np.concatenate([p.propensities for p in parts]),
        )


@dataclass(frozen=True, eq=False)
class Splits:
    """Train / validation / test examples; construction fails on an empty split or a shared user."""

    train: ClickData
    validation: ClickData
    test: ClickData

    def __post_init__(self):
        check_disjoint_users(dict(zip(SPLIT_NAMES, (self.train, self.validation, self.test), strict=True)))


def check_disjoint_users(splits: dict[str, ClickData]) -> None:
    """Raise ``ValueError`` if a split is empty or a user appears in two splits (leakage)."""
    seen: dict[int, str] = {}
    for name, data in splits.items():
        if len(data) == 0:
            raise ValueError(
                f"the {name} split is empty: collect more examples or users, or change the split fractions."
            )
        for user in np.unique(data.users):
            other = seen.setdefault(int(user), name)
            if other != name:
                raise ValueError(
                    f"user {int(user)} is in both the {other} and the {name} split: a split must keep all "
                    "examples of a user together (split with split_by_user)."
                )


def split_users(data: ClickData, fractions: Sequence[float], seed: int = 0) -> tuple[ClickData, ...]:
    """Split ``data`` into ``len(fractions)`` parts by user (each user's examples stay together).

    Users are shuffled with ``seed`` and cut at the cumulative ``fractions`` (of users); every part
    gets at least one user.

    Raises:
        ValueError: a fraction is not in (0, 1), they do not sum to 1, or there are fewer users than parts.
    """
    fractions = [check_float(f"fractions[{i}]", f, low=0.0, high=1.0, low_open=True) for i, f in enumerate(fractions)]
    if not fractions or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"fractions must be positive and sum to 1, got fractions={tuple(fractions)}.")
    users = np.unique(data.users)
    k = len(fractions)
    if users.size < k:
        raise ValueError(f"splitting by user into {k} parts needs at least {k} users, got {users.size}.")
    users = np.random.default_rng(check_int("seed", seed)).permutation(users)
    counts = np.maximum(1, np.round(np.asarray(fractions[1:]) * users.size).astype(np.int64))
    counts = np.concatenate([[users.size - counts.sum()], counts])
    if counts[0] < 1:
        raise ValueError(f"splitting {users.size} users by fractions={tuple(fractions)} leaves the first part empty.")
    bounds = np.concatenate([[0], np.cumsum(counts)])
    part_of = {int(u): p for p in range(k) for u in users[bounds[p] : bounds[p + 1]]}
    labels = np.array([part_of[int(u)] for u in data.users], dtype=np.int64)
    return tuple(data.subset(np.flatnonzero(labels == p)) for p in range(k))


def split_by_user(data: ClickData, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0) -> Splits:
    """Train / validation / test split by user (fractions of users), checked for leakage."""
    if len(fractions) != 3:
        raise ValueError(f"fractions must give (train, validation, test), got {len(fractions)} values.")
    return Splits(*split_users(data, fractions, seed))


# ---------------------------------------------------------------------------------------------- env logs
def logging_propensities(policy: str, catalogue: Catalogue, items: np.ndarray) -> np.ndarray:
    """P(item) under a named logging policy (both ignore the observation)."""
    if policy == "random":
        return np.full(items.shape, 1.0 / catalogue.num_items)
    return catalogue.popularity[items]


def collect_env_logs(
    venv,
    *,
    steps: int,
    policy: str = "random",
    seed: int = 0,
    user_offset: int = 0,
) -> ClickData:
    """Log ``steps`` interactions of AdvRec-v0 users with a seeded logging policy.

    Args:
        venv: an :class:`~advrec_gym.AdvRecVectorEnv` (``gym.make_vec("AdvRec-v0", num_envs=N,
            vectorization_mode="vector_entry_point")``) with ``slate_size=1``.
        steps: examples to log (interactions over all slots).
        policy: ``"random"`` (uniform, propensity ``1/num_items``) or ``"popularity"`` (items drawn
            in proportion to the catalogue's popularity prior, propensity = that prior).
        seed: seeds the env and the policy.
        user_offset: first user id (each episode is a new user, numbered in order of its start).

    Returns:
        The examples in time order; ``users`` numbers episodes, so a split by user never cuts one.
    """
    from agents.baselines import PopularityPolicy, RandomPolicy

    steps = check_int("steps", steps, low=1)
    policy = check_choice("policy", policy, LOGGING_POLICIES)
    seed = check_int("seed", seed)
    engine = venv.unwrapped.engine
    if engine.slate_size != 1:
        raise ValueError(f"collect_env_logs needs slate_size=1 (one item per example), got {engine.slate_size}.")
    catalogue, n = engine.catalogue, venv.num_envs
    if policy == "random":
        actor = RandomPolicy(catalogue.num_items, 1, seed=seed)
    else:
        actor = PopularityPolicy(catalogue, 1, seed=seed)
    rounds = -(-steps // n)
    obs_log = np.empty((rounds * n, engine.obs_dim), dtype=np.float32)
    items, clicks, users = (np.empty(rounds * n, dtype=np.int64) for _ in range(3))
    slot_user = np.arange(n, dtype=np.int64) + user_offset
    next_user = user_offset + n
    obs, _ = venv.reset(seed=seed)
    for t in range(rounds):
        rows = slice(t * n, (t + 1) * n)
        actions, _ = actor.predict(obs, deterministic=False)
        obs_log[rows], items[rows], users[rows] = obs, actions, slot_user
        obs, _, terminated, truncated, info = venv.step(actions)
        clicks[rows] = info["click"]
        for i in np.flatnonzero(terminated | truncated):  # the slot now serves a new user
            slot_user[i], next_user = next_user, next_user + 1
    keep = slice(0, steps)
    return ClickData(
        obs_log[keep], items[keep], clicks[keep], users[keep], logging_propensities(policy, catalogue, items[keep])
    )


def make_log_env(catalogue: Catalogue, num_envs: int = 16, max_episode_steps: int = 100, **env_kwargs):
    """A native AdvRec-v0 vector env over ``catalogue`` (extra keyword arguments go to the env)."""
    from advrec_gym.v0.vector_env import AdvRecVectorEnv

    return AdvRecVectorEnv(
        check_int("num_envs", num_envs, low=1), catalogue, max_episode_steps=max_episode_steps, **env_kwargs
    )


# ---------------------------------------------------------------------------------------------- MovieLens
def from_movielens_ratings(
    path: str | os.PathLike,
    catalogue: Catalogue,
    *,
    negatives: int = 4,
    min_rating: int = 4,
    rates: HistoryRates | None = None,
    seed: int = 0,
) -> ClickData:
    """Click examples from a MovieLens ``u.data`` file (or an ml-100k folder holding one).

    Each user's ratings are replayed in time order (ties in file order). A rating is a shown item,
    clicked when ``rating >= min_rating``; before each one, ``negatives`` items the user never rated
    are sampled (without replacement, seeded) as shown-and-not-clicked examples with the same
    observation. The observation is the env's: exponential averages of clicked, skipped and shown
    items' catalogue embeddings and the three scalars, updated after each rating with ``rates``.

    Args:
        path: the ratings file or the ml-100k folder.
        catalogue: ``Catalogue.from_movielens`` of the same data (its ``ids`` are movie ids).
        negatives: unrated items sampled per rating (0 keeps only the ratings).
        min_rating: the smallest rating that counts as a click.
        rates: the history averages' rates (default: the env's).
        seed: seeds the negative sampling.
    """
    from pathlib import Path

    from advrec_gym import movielens

    negatives = check_int("negatives", negatives, low=0)
    min_rating = check_int("min_rating", min_rating, low=1, high=5)
    rates = rates or HistoryRates()
    path = Path(path)
    data_path = path / "u.data" if path.is_dir() else path
    ratings = movielens.read_ratings(data_path)
    if ratings.users.size == 0:
        raise ValueError(f"{data_path} holds no ratings.")
    row_of = {int(i): r for r, i in enumerate(catalogue.ids)}
    unknown = sorted({int(i) for i in ratings.items} - set(row_of))
    if unknown:
        raise ValueError(
            f"{data_path} rates movie ids {unknown[:5]} that the catalogue does not hold: build the catalogue "
            "with Catalogue.from_movielens on the same folder."
        )
    rng = np.random.default_rng(check_int("seed", seed))
    emb, d, num_items = catalogue.embeddings, catalogue.dim, catalogue.num_items
    rows = []
    order = np.lexsort((np.arange(ratings.users.size), ratings.timestamps, ratings.users))
    for user in np.unique(ratings.users):
        events = order[ratings.users[order] == user]
        rated = np.array(sorted({row_of[int(i)] for i in ratings.items[events]}), dtype=np.int64)
        unrated = np.setdiff1d(np.arange(num_items), rated)
        obs = np.zeros(3 * d + NUM_SCALARS, dtype=np.float32)
        clicks = 0
        for t, k in enumerate(events, start=1):
            item = row_of[int(ratings.items[k])]
            click = float(ratings.ratings[k] >= min_rating)
            sampled = rng.choice(unrated, size=min(negatives, unrated.size), replace=False)
            for shown, label in [(item, click)] + [(int(j), 0.0) for j in sampled]:
                rows.append((obs.copy(), shown, label, int(user)))
            _update_history(obs, emb[item], click, d, rates)
            clicks += int(click)
            obs[3 * d + 2] = clicks / t
    obs_arr, items, clicks_arr, users = (np.array(c) for c in zip(*rows, strict=True))
    return ClickData(obs_arr, items, clicks_arr, users, np.full(len(rows), np.nan))


def _update_history(obs: np.ndarray, e: np.ndarray, click: float, d: int, rates: HistoryRates) -> None:
    """One step of the env's observation update (see :class:`~advrec_gym.v0.engine.Engine`), in place."""
    obs[2 * d : 3 * d] += rates.shown * (e - obs[2 * d : 3 * d])
    block = slice(0, d) if click else slice(d, 2 * d)
    obs[block] += (rates.clicked if click else rates.skipped) * (e - obs[block])
    obs[3 * d] = click
    obs[3 * d + 1] += rates.click_rate * (click - obs[3 * d + 1])
