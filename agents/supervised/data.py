"""Click data for the supervised route: (observation, item, click) examples, split by user.

Two sources give examples with the same layout as AdvRec-v0's observation, so one click model serves
both and its user tower sees exactly the features the RL recommender sees:

* :func:`collect_env_logs`: interactions of AdvRec-v0 users with a seeded logging policy (random or
  popularity), each example carrying the logging propensity ``P(item | observation)``.
* :func:`from_movielens_ratings`: MovieLens-format ratings replayed in time order per user; a rating
  >= 4 is a click, and ``negatives`` items the user had not rated by then are added as non-clicks.
  The observation is rebuilt from the user's earlier ratings by the env's own update, in one
  vectorised replay; a rating and its negatives share one observation row (:class:`SharedRows`).

:func:`split_by_user` splits train / validation / test with no user in two splits.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np

from advrec_gym._validation import check_choice, check_float, check_int
from advrec_gym.catalogue import Catalogue
from advrec_gym.v0.engine import NUM_SCALARS, HistoryRates

LOGGING_POLICIES = ("random", "popularity")
SPLIT_NAMES = ("train", "validation", "test")


class SharedRows:
    """Per-example rows gathered from a smaller array on access: ``rows[k]`` is ``base[index[k]]``.

    Examples that share an observation (a rating and its sampled negatives) then share its storage.
    Indexing (an int, a slice, an integer or boolean array) returns a plain float32 array, so code that
    reads ``data.observations[batch]`` works unchanged; :meth:`take` selects without copying the base.

    Args:
        base: float32 (num_rows, obs_dim), the distinct observations.
        index: int (num_examples,), the row of each example.
    """

    ndim = 2

    def __init__(self, base: np.ndarray, index: np.ndarray):
        self.base = np.asarray(base, dtype=np.float32)
        self.index = np.asarray(index, dtype=np.int64)
        if self.base.ndim != 2 or self.index.ndim != 1:
            raise ValueError(
                f"SharedRows needs a 2-D base and a 1-D index, got {self.base.shape} and {self.index.shape}."
            )
        if self.index.size and (self.index.min() < 0 or self.index.max() >= self.base.shape[0]):
            raise ValueError(f"SharedRows index must lie in [0, {self.base.shape[0]}).")

    @property
    def shape(self) -> tuple[int, int]:
        return (self.index.size, self.base.shape[1])

    @property
    def dtype(self):
        return self.base.dtype

    @property
    def nbytes(self) -> int:
        return self.base.nbytes + self.index.nbytes

    def __len__(self) -> int:
        return self.index.size

    def __getitem__(self, key) -> np.ndarray:
        return self.base[self.index[key]]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self.base[self.index]
        return out if dtype is None else out.astype(dtype, copy=False)

    def take(self, key) -> SharedRows:
        """The examples at ``key``, sharing this base."""
        return SharedRows(self.base, self.index[key])


@dataclass(frozen=True, eq=False)
class ClickData:
    """A set of click examples (one row per example).

    Attributes:
        observations: float32 (n, obs_dim), the env-style observation before the item was shown: an
            array, or :class:`SharedRows` when examples share observations (MovieLens negatives).
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
        obs = self.observations
        if not isinstance(obs, SharedRows):
            obs = np.asarray(obs, dtype=np.float32)
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
        if not np.all(np.isfinite(obs.base if isinstance(obs, SharedRows) else obs)):
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
        obs = self.observations
        obs = obs.take(index) if isinstance(obs, SharedRows) else obs[index]
        return ClickData(obs, self.items[index], self.clicks[index], self.users[index], self.propensities[index])

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
        if all(isinstance(p.observations, SharedRows) for p in parts):
            offsets = np.cumsum([0] + [p.observations.base.shape[0] for p in parts[:-1]])
            obs = SharedRows(
                np.concatenate([p.observations.base for p in parts]),
                np.concatenate([p.observations.index + o for p, o in zip(parts, offsets, strict=True)]),
            )
        else:
            obs = np.concatenate([np.asarray(p.observations) for p in parts])
        return ClickData(
            obs,
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
OBSERVATIONS = ("v0", "v1")


def from_movielens_ratings(
    path: str | os.PathLike,
    catalogue: Catalogue,
    *,
    negatives: int = 4,
    min_rating: int = 4,
    rates: HistoryRates | None = None,
    seed: int = 0,
    duplicates: str = "merge",
    observation: str = "v0",
) -> ClickData:
    """Click examples from a MovieLens folder's ``u.data`` (read by :func:`advrec_gym.movielens.load_movielens`).

    Each user's ratings are replayed in time order (ties in file order; a film listed twice is one
    item, the placeholder movie is left out, as in the catalogue). A rating is a shown item, clicked
    when ``rating >= min_rating``. With each one, ``negatives`` items the user had **not rated by
    then** are sampled (distinct, uniformly, seeded) as shown-and-not-clicked examples with the same
    observation: no example uses what the user did later (an item they rate later may be a negative
    now, as it would have been in a log written at that time).

    The observation before each rating is the env's own, from one vectorised replay of the history:
    ``observation="v0"`` is AdvRec-v0's (clicked / skipped / shown averages and three scalars, what
    the click model reads), ``"v1"`` AdvRec-v1's (:func:`advrec_gym.engine.replay_observations`, the
    kernel's update; a rating ``r`` is observed as the outcome ``(r - 3) / 2``). Examples of one
    rating share its observation row (:class:`SharedRows`), so 100k ratings with 4 negatives hold
    100k observations, not 500k.

    Args:
        path: the ml-100k folder (or its ``u.item`` file).
        catalogue: ``Catalogue.from_movielens`` of the same folder and ``duplicates`` (its ``ids`` are
            the rows' movie ids).
        negatives: not-yet-rated items sampled per rating (0 keeps only the ratings).
        min_rating: the smallest rating that counts as a click.
        rates: the v0 history averages' rates (default: the env's).
        seed: seeds the negative sampling.
        duplicates: how films listed twice were read (``"merge"`` or ``"keep"``, as the catalogue's).
        observation: ``"v0"`` or ``"v1"``.
    """
    from advrec_gym.movielens import load_movielens

    negatives = check_int("negatives", negatives, low=0)
    min_rating = check_int("min_rating", min_rating, low=1, high=5)
    observation = check_choice("observation", observation, OBSERVATIONS)
    rates = rates or HistoryRates()
    seed = check_int("seed", seed)
    data = load_movielens(path, duplicates=duplicates)
    if data.num_ratings == 0:
        raise ValueError(f"{data.folder / data.ratings_file} holds no ratings.")
    if catalogue.num_items != data.num_items or not np.array_equal(catalogue.ids, data.ids):
        raise ValueError(
            f"the catalogue ({catalogue.num_items} items) does not list the films of {data.folder} "
            f"({data.num_items} with duplicates={duplicates!r}) in order: build it with Catalogue.from_movielens "
            "on the same folder and duplicates setting."
        )
    items, clicks = data.rows, (data.ratings >= min_rating).astype(np.float32)
    starts = np.concatenate([[True], data.users[1:] != data.users[:-1]])
    if observation == "v0":
        obs = replay_history(catalogue.embeddings, items, clicks, starts, rates)
    else:
        from advrec_gym.engine import replay_observations

        satisfaction = (data.ratings - 3.0) / 2.0
        obs = replay_observations(catalogue.embeddings, items, clicks, satisfaction, starts)
    sampled, valid = sample_unrated(items, starts, catalogue.num_items, negatives, np.random.default_rng(seed))
    # Example order: each rating, then its negatives.
    shown = np.concatenate([items[:, None], sampled], axis=1)
    keep = np.concatenate([np.ones((items.size, 1), dtype=bool), valid], axis=1)
    label = np.concatenate([clicks[:, None], np.zeros_like(sampled, dtype=np.float32)], axis=1)
    event = np.broadcast_to(np.arange(items.size)[:, None], shown.shape)
    return ClickData(
        SharedRows(obs, event[keep]),
        shown[keep],
        label[keep],
        data.users[event[keep]],
        np.full(int(keep.sum()), np.nan),
    )


def sample_unrated(
    items: np.ndarray, starts: np.ndarray, num_items: int, k: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """For each event of per-user sequences, ``k`` distinct items that user had not rated up to then.

    Uniform over the items not among the user's events so far (this one included), by rejection
    (vectorised; an event with fewer than ``k`` such items gets them all).

    Args:
        items: int (n,), the item of each event; a user never repeats an item.
        starts: bool (n,), True at the first event of each user's sequence.
        num_items: catalogue size.
        k: items per event.
        rng: the generator.

    Returns:
        (sampled int64 (n, k), valid bool (n, k)): the slots beyond what an event can get are invalid.
    """
    n = items.size
    seq = np.cumsum(starts) - 1  # the sequence of each event
    first = np.flatnonzero(starts)
    position = np.arange(n) - first[seq]
    # rated_at[s, j]: the position at which sequence s rated item j (n + 1: never).
    rated_at = np.full((first.size, num_items), n + 1, dtype=np.int64)
    rated_at[seq, items] = position
    want = np.minimum(k, num_items - position - 1)
    valid = np.arange(k)[None, :] < want[:, None]
    sampled = np.zeros((n, k), dtype=np.int64)
    todo = valid.copy()
    for _ in range(64):
        rows, cols = np.nonzero(todo)
        if rows.size == 0:
            break
        sampled[rows, cols] = rng.integers(num_items, size=rows.size)
        bad = rated_at[seq[:, None], sampled] <= position[:, None]
        earlier = np.triu(np.ones((k, k), dtype=bool), 1)  # earlier[a, b]: slot a before slot b
        repeat = np.any((sampled[:, :, None] == sampled[:, None, :]) & earlier[None], axis=1)
        todo = valid & (bad | repeat)
    for row in np.flatnonzero(todo.any(axis=1)):  # nearly every item rated: draw from what is left
        left = np.flatnonzero(rated_at[seq[row]] > position[row])
        sampled[row, : want[row]] = rng.choice(left, size=want[row], replace=False)
    return sampled, valid


def replay_history(
    embeddings: np.ndarray, items: np.ndarray, clicks: np.ndarray, starts: np.ndarray, rates: HistoryRates
) -> np.ndarray:
    """AdvRec-v0's observation before each event of per-user (item, click) sequences, float32 (n, 3 dim + 3).

    One compiled pass over the events (numba, as AdvRec-v1's kernel) applying :func:`_update_history`'s
    float32 operations event by event, so every row is bit for bit what the env's update gives. The
    signature follows :func:`advrec_gym.engine.replay_observations` (AdvRec-v1's replay), so moving
    the supervised route to v1's observation is a one-line change.

    Args:
        embeddings: float32 (num_items, dim).
        items: int (n,), the catalogue row of each event.
        clicks: (n,), 1 for a click.
        starts: bool (n,), True at the first event of each user's sequence (the history restarts empty).
        rates: the history averages' rates.
    """
    emb = np.ascontiguousarray(embeddings, dtype=np.float32)
    items = np.ascontiguousarray(items, dtype=np.int64)
    n = items.size
    for name, arr in (("clicks", clicks), ("starts", starts)):
        if np.shape(arr) != (n,):
            raise ValueError(f"{name} must have shape ({n},) (one per event), got {np.shape(arr)}.")
    if n and (items.min() < 0 or items.max() >= emb.shape[0]):
        raise ValueError(f"items must be rows in [0, {emb.shape[0]}), got values in [{items.min()}, {items.max()}].")
    if n and not bool(np.asarray(starts)[0]):
        raise ValueError("starts[0] must be True: the first event starts a sequence.")
    r = np.array([rates.shown, rates.clicked, rates.skipped, rates.click_rate], dtype=np.float32)
    return _replay_v0(
        emb, items, np.ascontiguousarray(clicks, dtype=np.float32), np.ascontiguousarray(starts, dtype=np.bool_), r
    )


@numba.njit(cache=True)
def _replay_v0(emb, items, clicks, starts, r):  # pragma: no cover - compiled; tested through replay_history
    n, d = items.shape[0], emb.shape[1]
    out = np.zeros((n, 3 * d + NUM_SCALARS), dtype=np.float32)
    state = np.zeros(3 * d + NUM_SCALARS, dtype=np.float32)
    zero = np.float32(0.0)
    t, clicked = 0, 0
    for k in range(n):
        if starts[k]:
            state[:] = zero
            t, clicked = 0, 0
        out[k, :] = state
        e = emb[items[k]]
        on = clicks[k] > 0
        for j in range(d):
            state[2 * d + j] += r[0] * (e[j] - state[2 * d + j])
            if on:
                state[j] += r[1] * (e[j] - state[j])
            else:
                state[d + j] += r[2] * (e[j] - state[d + j])
        c = np.float32(1.0) if on else zero
        state[3 * d] = c
        state[3 * d + 1] += r[3] * (c - state[3 * d + 1])
        t += 1
        clicked += 1 if on else 0
        state[3 * d + 2] = np.float32(clicked / t)
    return out


def _update_history(obs: np.ndarray, e: np.ndarray, click, d: int, rates: HistoryRates) -> None:
    """One step of AdvRec-v0's observation update (see :class:`~advrec_gym.v0.engine.Engine`), in place.

    The readable reference of :func:`replay_history`'s compiled pass (tested against it bit for bit).
    Row-batched: ``obs`` (m, 3 d + 3) or (3 d + 3,), ``e`` of the same leading shape, ``click`` a
    scalar or (m,). The same float32 operations as the env's (a row that is not updated gains an
    exact zero). ``episode_ctr`` is the caller's.
    """
    click = np.asarray(click, dtype=np.float32)
    on = click[..., None] > 0
    obs[..., 2 * d : 3 * d] += rates.shown * (e - obs[..., 2 * d : 3 * d])
    obs[..., 0:d] += np.where(on, np.float32(rates.clicked), np.float32(0)) * (e - obs[..., 0:d])
    obs[..., d : 2 * d] += np.where(on, np.float32(0), np.float32(rates.skipped)) * (e - obs[..., d : 2 * d])
    obs[..., 3 * d] = click
    obs[..., 3 * d + 1] += rates.click_rate * (click - obs[..., 3 * d + 1])
