"""The one batched simulator of AdvRec-v1: its arrays, and the compiled kernel that steps them.

:class:`Engine` owns every per-user array (preallocated, shape (num_users, ...)) and the static
tables the kernel reads (see :mod:`advrec_gym.kernel` for the layout); the single env is an engine of
one user without autoreset, the vector env one of ``num_envs`` users with autoreset inside the kernel.
Hidden state (interests, budgets, item quality) is readable here for reference policies only.
"""

from __future__ import annotations

import os
import warnings

import numba as nb
import numpy as np

from advrec_gym import kernel as K
from advrec_gym._validation import check_int
from advrec_gym.catalogue import Catalogue
from advrec_gym.choice import LogitChoice
from advrec_gym.dynamics import Dynamics
from advrec_gym.users import UserModel, UserPopulation

_SEED_LIMIT = 2**63


def compile_error(exc: BaseException) -> RuntimeError:
    """The error a user sees when numba cannot compile the kernel (never numba's own traceback)."""
    import numba

    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return RuntimeError(
        f"AdvRec-v1's compiled kernel failed to compile with numba {numba.__version__} ({first}). "
        "Run the same code uncompiled (slow) with the environment variable NUMBA_DISABLE_JIT=1, or "
        "reinstall numba 0.68 (pip install 'numba>=0.68,<0.69'); AdvRec-v0 needs no compiler."
    )


def _guard(fn, *args):
    """Call a kernel function, turning a numba compile failure into :func:`compile_error`."""
    try:
        return fn(*args)
    except Exception as exc:
        from numba.core.errors import NumbaError

        if isinstance(exc, NumbaError):
            raise compile_error(exc) from None
        raise


class Engine:
    """``num_users`` AdvRec-v1 users stepped together by the compiled kernel.

    Args:
        catalogue: the items (``embeddings`` for the recommender, ``user_embeddings`` for the users'
            tastes, ``quality``, ``appeal``).
        num_users: batch size.
        user_model: a :class:`~advrec_gym.UserModel` (interests near topic centroids) or a
            :class:`~advrec_gym.users.UserPopulation` (interests drawn from a fixed set).
        choice_model: the logit choice model.
        dynamics: the consequences and the observation's update rates.
        slate_size: items shown per step.
        horizon: the episode's time limit (``None``: none; it also scales the observation's
            ``time_fraction``).
        autoreset: restart a finished user inside the step (the vector env) or leave it (the single env).
    """

    def __init__(
        self,
        catalogue: Catalogue,
        num_users: int,
        user_model: UserModel | UserPopulation,
        choice_model: LogitChoice,
        dynamics: Dynamics,
        slate_size: int,
        horizon: int | None,
        autoreset: bool,
    ):
        self.num_users = n = int(num_users)
        self.user_model, self.choice_model, self.dynamics = user_model, choice_model, dynamics
        self.slate_size, self.horizon, self.autoreset = int(slate_size), horizon, bool(autoreset)
        self.dim = d = catalogue.dim
        self.obs_dim = K.NUM_BLOCKS * d + K.NUM_SCALARS
        self.embedding_slice = slice(0, K.NUM_BLOCKS * d)
        if isinstance(user_model, UserPopulation) and user_model.dim != d:
            raise ValueError(
                f"The user population's interests have dim {user_model.dim}, the catalogue's embeddings {d}: "
                "fit the population on this catalogue's embeddings."
            )
        self.obs = np.zeros((n, self.obs_dim), dtype=np.float32)
        self.users = np.zeros((n, d), dtype=np.float32)
        self.ustate = np.zeros((n, 4), dtype=np.float64)
        self.counters = np.zeros((n, 4), dtype=np.int64)
        self.out = np.zeros((n, len(K.OUT_FIELDS)), dtype=np.float64)
        self.final = (
            np.zeros((n, self.obs_dim), dtype=np.float32) if self.autoreset else np.zeros((1, self.obs_dim), np.float32)
        )
        self.seeded = False
        self._compiled: set = set()
        self.threads = 1
        self.set_catalogue(catalogue)

    # ------------------------------------------------------------------ static tables
    def set_catalogue(self, catalogue: Catalogue) -> None:
        """Use ``catalogue``'s items from the next step on (e.g. after its texts were edited).

        The new catalogue must have the same number of items and embedding size.
        """
        if hasattr(self, "catalogue") and (catalogue.num_items, catalogue.dim) != (self.catalogue.num_items, self.dim):
            raise ValueError(
                f"set_catalogue needs {self.catalogue.num_items} items of dim {self.dim}, got "
                f"{catalogue.num_items} of dim {catalogue.dim}."
            )
        self.catalogue = catalogue
        um, cm, dyn = self.user_model, self.choice_model, self.dynamics
        blocks = [catalogue.embeddings]
        user_row = 0
        if catalogue.texts_edited:
            user_row = catalogue.num_items
            blocks.append(catalogue.user_embeddings)
        centroid_row = sum(len(b) for b in blocks)
        centroids = catalogue.topic_centroids()
        blocks.append(centroids)
        population_row = centroid_row + len(centroids)
        prior = np.bincount(catalogue.topic_index, weights=catalogue.popularity, minlength=catalogue.num_topics)
        prior = prior / prior.sum()
        if isinstance(um, UserPopulation):
            blocks.append(um.interests)
            population_cdf = np.cumsum(um.weights)
            population_cdf[-1] = 1.0
        else:
            population_cdf = np.zeros(0)
        self.tables = np.ascontiguousarray(np.concatenate(blocks).astype(np.float32, copy=False))
        self.topic_prior, self.centroids = prior, centroids
        p = np.zeros(K.NUM_PARAMS)
        p[K.P_TAU], p[K.P_NO_CLICK], p[K.P_THETA] = cm.temperature, cm.no_click_affinity, cm.fatigue_threshold
        p[K.P_LOG_POSITION_BIAS] = np.log(cm.position_bias)
        p[K.P_GAIN], p[K.P_SKIP_COST], p[K.P_SAT_NOISE] = dyn.quality_gain, dyn.skip_cost, dyn.satisfaction_noise
        p[K.P_R_LIKED], p[K.P_R_REGRET], p[K.P_R_SKIP] = dyn.liked_rate, dyn.regretted_rate, dyn.skipped_rate
        p[K.P_R_SHOWN], p[K.P_R_CLICK], p[K.P_R_SAT] = dyn.shown_rate, dyn.click_rate, dyn.satisfaction_rate
        p[K.P_HORIZON] = 0 if self.horizon is None else self.horizon
        p[K.P_ENGAGEMENT] = dyn.reward == "engagement"
        p[K.P_AUTORESET] = self.autoreset
        if isinstance(um, UserModel):
            p[K.P_MAX_TOPICS], p[K.P_INTEREST_NOISE] = um.max_topics, um.interest_noise
        p[K.P_BUDGET_LO], p[K.P_BUDGET_HI] = um.budget_range
        p[K.P_DRIFT_LO], p[K.P_DRIFT_HI] = um.drift_range
        p[K.P_FATIGUE_LO], p[K.P_FATIGUE_HI] = um.fatigue_range
        p[K.P_NUM_ITEMS], p[K.P_NUM_TOPICS] = catalogue.num_items, catalogue.num_topics
        p[K.P_NUM_POPULATION] = len(population_cdf)
        p[K.P_ROW_USER_EMB], p[K.P_ROW_CENTROIDS], p[K.P_ROW_POPULATION] = user_row, centroid_row, population_row
        tail = [catalogue.quality, catalogue.appeal, prior, population_cdf]
        offset = K.NUM_PARAMS
        for index, arr in zip(
            (K.P_OFF_QUALITY, K.P_OFF_APPEAL, K.P_OFF_TOPIC_PRIOR, K.P_OFF_POPULATION_CDF), tail, strict=True
        ):
            p[index] = offset
            offset += len(arr)
        self.params = np.concatenate([p, *(np.asarray(a, dtype=np.float64) for a in tail)])

    # ------------------------------------------------------------------ episodes
    def keys_for(self, seeds) -> np.ndarray:
        """Slot keys for integer seeds (``None`` entries get fresh OS entropy)."""
        out = np.empty(len(seeds), dtype=np.int64)
        given = [i for i, s in enumerate(seeds) if s is not None]
        if given:
            out[given] = _guard(K.seed_keys, np.array([seeds[i] for i in given], dtype=np.int64))
        for i in (i for i, s in enumerate(seeds) if s is None):
            entropy = np.random.SeedSequence().generate_state(2, np.uint64)
            out[i] = np.int64(entropy[0].view(np.int64))
        return out

    def reset(self, rows: np.ndarray, seeds=None) -> None:
        """Start a new episode in ``rows``: with ``seeds`` (one per row, int or None) at episode 0 of
        the seed's key, else at the next episode of each slot's key."""
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        if seeds is None and not self.seeded:
            seeds = [None] * len(rows)
        keys = np.zeros(0, dtype=np.int64) if seeds is None else self.keys_for(list(seeds))
        _guard(
            K.reset_rows, rows, keys, True, self.obs, self.users, self.ustate, self.counters, self.tables, self.params
        )
        self.seeded = True

    def step(self, slates: np.ndarray) -> int:
        """One step of every slot (``slates``: validated int64 (num_users, slate_size)); returns how many ended.

        Results are in ``self.out`` (columns :data:`~advrec_gym.kernel.OUT_FIELDS`), the observation in
        ``self.obs``, and (autoreset) the last observation of each finished episode in ``self.final``.
        """
        fn, args = K.step, (slates, *self._state())
        if self.threads > 1:  # the users split across numba's threads (the same results: kernel.step_threaded)
            nb.set_num_threads(self.threads)
            fn, args = K.step_threaded, (*args, 4 * self.threads)  # chunks: 4 a thread, for balance
        if fn not in self._compiled:  # the first call compiles (or loads the cache): turn a failure into a clear error
            done = _guard(fn, *args)
            self._compiled.add(fn)
            return done
        return fn(*args)

    def set_threads(self, threads: int) -> None:
        """Step with ``threads`` numba threads (1: the single-threaded kernel); at most ``numba.config.NUMBA_NUM_THREADS``."""
        most = nb.config.NUMBA_NUM_THREADS
        threads = check_int("threads", threads, low=1)
        if threads > most:
            raise ValueError(
                f"threads must be in [1, {most}] (numba's thread pool, NUMBA_NUM_THREADS, defaults to the CPU "
                f"count), got threads={threads}."
            )
        self.threads = threads

    def _state(self) -> tuple:
        """The kernel's arguments after the slates, in order."""
        return self.obs, self.users, self.ustate, self.counters, self.out, self.final, self.tables, self.params

    # ------------------------------------------------------------------ hidden state (reference policies only)
    @property
    def budget(self) -> np.ndarray:
        return self.ustate[:, K.U_BUDGET]

    @property
    def t(self) -> np.ndarray:
        return self.counters[:, K.C_T]

    def click_probabilities(self, rows: np.ndarray | None = None) -> np.ndarray:
        """P(click) of every item shown alone, (len(rows), num_items), from the hidden state.

        Only reference policies (the oracles) may read this: it uses the hidden interests.
        """
        rows = slice(None) if rows is None else rows
        cat, cm = self.catalogue, self.choice_model
        affinity = self.users[rows] @ cat.user_embeddings.T + cat.appeal
        shown = self.obs[rows, K.SHOWN * self.dim : (K.SHOWN + 1) * self.dim]
        fatigue = cm.fatigue(shown @ cat.embeddings.T, self.ustate[rows, K.U_FATIGUE][:, None])
        v = (affinity - fatigue - cm.no_click_affinity) / cm.temperature
        return 1.0 / (1.0 + np.exp(-v))

    def nbytes_per_user(self) -> int:
        """Bytes of per-user state (observation, interest, traits, counters, outputs, final observation)."""
        arrays = (self.obs, self.users, self.ustate, self.counters, self.out)
        per = sum(a.nbytes for a in arrays) / self.num_users
        return int(per + (self.final.nbytes / self.num_users if self.autoreset else 0))


def replay_observations(
    embeddings: np.ndarray,
    items: np.ndarray,
    clicks: np.ndarray,
    satisfaction: np.ndarray,
    starts: np.ndarray,
    dynamics: Dynamics | None = None,
    horizon: int | None = 100,
) -> np.ndarray:
    """The AdvRec-v1 observation before each event of logged (item, click, satisfaction) sequences.

    For click data from logs (e.g. MovieLens ratings replayed in time order): the kernel's own history
    update, in one compiled pass, so a replayed observation is exactly what the env would have shown.

    Args:
        embeddings: float32 (num_items, dim), the items as the recommender sees them.
        items: int (n_events,), catalogue rows.
        clicks: (n_events,), 1 for a click.
        satisfaction: float (n_events,), the observed outcome of a click in [-1, 1] (ignored without a click).
        starts: bool (n_events,), True at the first event of each user's sequence.
        dynamics: the update rates (default :class:`~advrec_gym.dynamics.Dynamics`).
        horizon: scales the time fraction (AdvRec-v1's 100; ``None``: 0).

    Returns:
        float32 (n_events, 4 * dim + 6).
    """
    emb = np.ascontiguousarray(embeddings, dtype=np.float32)
    n = len(items)
    items = np.ascontiguousarray(items, dtype=np.int64)
    for name, arr in (("clicks", clicks), ("satisfaction", satisfaction), ("starts", starts)):
        if np.shape(arr) != (n,):
            raise ValueError(f"{name} must have shape ({n},) (one per event), got {np.shape(arr)}.")
    if n and (items.min() < 0 or items.max() >= emb.shape[0]):
        raise ValueError(
            f"items must be catalogue rows in [0, {emb.shape[0]}), got values in [{items.min()}, {items.max()}]."
        )
    if n and not bool(np.asarray(starts)[0]):
        raise ValueError("starts[0] must be True: the first event starts a sequence.")
    dyn = dynamics or Dynamics()
    p = np.zeros(K.NUM_PARAMS)
    p[K.P_R_LIKED], p[K.P_R_REGRET], p[K.P_R_SKIP] = dyn.liked_rate, dyn.regretted_rate, dyn.skipped_rate
    p[K.P_R_SHOWN], p[K.P_R_CLICK], p[K.P_R_SAT] = dyn.shown_rate, dyn.click_rate, dyn.satisfaction_rate
    p[K.P_HORIZON] = 0 if horizon is None else horizon
    obs_dim = K.NUM_BLOCKS * emb.shape[1] + K.NUM_SCALARS
    return _guard(
        K.replay,
        items,
        np.ascontiguousarray(clicks, dtype=np.float32),
        np.ascontiguousarray(satisfaction, dtype=np.float64),
        np.ascontiguousarray(starts, dtype=np.bool_),
        obs_dim,
        emb,
        p,
    )


def numba_disabled() -> bool:
    """Whether the kernel runs uncompiled (``NUMBA_DISABLE_JIT=1``)."""
    return os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")


if numba_disabled():  # pragma: no cover - exercised in a subprocess test
    warnings.warn("NUMBA_DISABLE_JIT is set: AdvRec-v1's kernel runs as plain Python (slow).", stacklevel=2)
