"""AdvRec-v1: one simulated user at a time; what they consume decides how long they stay."""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np

from advrec_gym import kernel as K
from advrec_gym._validation import check_choice, reject_unknown
from advrec_gym.actions import check_single_action
from advrec_gym.catalogue import Catalogue
from advrec_gym.choice import LogitChoice
from advrec_gym.dynamics import Dynamics
from advrec_gym.encoder import TransformerEncoder
from advrec_gym.options import ENV_KWARGS, build_engine, single_spaces
from advrec_gym.quality import ItemKinds
from advrec_gym.render import RENDER_MODES, EpisodeLog
from advrec_gym.users import UserModel, UserPopulation

_ROW = np.zeros(1, dtype=np.int64)


class AdvRecEnv(gym.Env):
    """A recommender serves one simulated user; clickbait wins the click and loses the user.

    ## Description

    The catalogue's items are texts encoded by a language model into unit vectors ``e_i`` (default:
    1,000 synthetic items over 20 topics, all-MiniLM-L6-v2, 384-d). Every item has a **hidden
    quality** ``q_i`` in [-1, 1] and a click **appeal** ``a_i`` (see :mod:`advrec_gym.quality`): 15% of
    the default items are clickbait (appealing, low quality), 20% are high quality (slightly less
    appealing), the rest regular; their texts read accordingly. Each episode draws a user with a
    hidden interest ``u`` (near 1-3 topic centroids) and traits: time budget ``B``, drift rate ``eta``,
    fatigue sensitivity ``phi`` (:class:`~advrec_gym.UserModel`, or a fixed
    :class:`~advrec_gym.UserPopulation`). A user learns an item's quality only by consuming it, and
    its quality changes how long they stay: a recommender that maximises the next click shows
    clickbait and loses its users early; one that plans keeps them until the time limit.

    ## Action Space

    ``Discrete(num_items)``: the item to show. With ``slate_size=k > 1``:
    ``MultiDiscrete([num_items] * k)``, a slate in position order; duplicates are shown once (only the
    first occurrence can be clicked).

    ## Observation Space

    A float32 ``Box`` of size ``4 * dim + 6`` (1,542 for 384-d), built only from what the recommender
    saw, never from the hidden state:

    | index | name | meaning | range |
    |---|---|---|---|
    | ``[0, dim)`` | liked | average of the embeddings of clicked items whose outcome was good (``s >= 0``), ``x += 0.3 (e - x)`` | [-1, 1] |
    | ``[dim, 2dim)`` | regretted | the same for clicks that disappointed (``s < 0``) | [-1, 1] |
    | ``[2dim, 3dim)`` | skipped | average of shown-but-not-clicked embeddings (rate 0.3) | [-1, 1] |
    | ``[3dim, 4dim)`` | shown | average of everything shown (rate 0.5, every step): the fatigue state | [-1, 1] |
    | ``4dim`` | last_click | 1 if the last step was clicked | {0, 1} |
    | ``4dim + 1`` | click_rate_ema | average of clicks (rate 0.3) | [0, 1] |
    | ``4dim + 2`` | episode_ctr | clicks / steps so far | [0, 1] |
    | ``4dim + 3`` | last_satisfaction | the observed outcome ``s`` of the last click (0 without one) | [-1, 1] |
    | ``4dim + 4`` | satisfaction_ema | average of the outcomes of clicks (rate 0.3) | [-1, 1] |
    | ``4dim + 5`` | time_fraction | steps / horizon | [0, 1] |

    All zero at reset. ``env.unwrapped.embedding_slice`` (``slice(0, 4 * dim)``) is the attack
    surface; each block is an average of unit vectors, so its L2 norm is at most 1 and its coordinates
    spread about ``1 / sqrt(dim)`` (0.05 for 384-d).

    ## Transition and choice model

    For a shown item at slate position ``j``, with ``r`` the shown average *before* this step
    (:class:`~advrec_gym.LogitChoice`; defaults ``tau = 0.1``, ``a0 = 0.5``, ``theta = 0.5``, ``b = 0.8``)::

        fatigue = phi * max(0, <e, r> - theta) / (1 - theta)
        v_j     = (<u, e_user> + a - fatigue - a0) / tau + j * log(b),   no click: 0
        P(click slot j) = exp(v_j) / (1 + sum_k exp(v_k))

    (``e_user`` is the item as the users know it, ``catalogue.user_embeddings``; it differs from the
    recommender's ``e`` only where a text was edited.) On a click on item ``i`` (see
    :class:`~advrec_gym.Dynamics`; defaults ``g = 3``, ``sigma = 0.2``, ``skip_cost = 1``)::

        s = clip(q_i + sigma * N(0, 1), -1, 1)      the outcome the recommender observes
        B <- B + g * q_i                            good items make the user stay, clickbait leave
        u <- |u| normalise(u + eta (|u| e_user - u))  the interest drifts toward the item

    and every step ``B <- B - 1 - skip_cost * [no click]``.

    ## Rewards

    ``Dynamics(reward="click")`` (default): 1 for a click, else 0. ``"engagement"``: the clicked
    item's affinity ``clip(<u, e_user>, 0, 1)``. The return is the number of clicks, so it grows with
    the click rate *and* with how long the user stays: it is no function of the click rate alone.

    ## Starting State

    A fresh user from the slot's key (see Seeding); all history zero.

    ## Episode End

    ``terminated`` when the budget is spent (``B <= 0``): the user leaves. ``truncated`` at
    ``horizon`` steps (default 100), which the env applies itself (``gym.make`` adds no ``TimeLimit``).

    ## Arguments

    | argument | default | meaning |
    |---|---|---|
    | ``catalogue`` | ``None`` | a :class:`~advrec_gym.Catalogue`; ``None`` builds the synthetic one below |
    | ``num_items``, ``num_topics``, ``catalogue_seed`` | 1000, 20, 0 | the synthetic catalogue |
    | ``kinds`` | ``ItemKinds()`` | the synthetic catalogue's item kinds (:class:`~advrec_gym.quality.ItemKinds`) |
    | ``encoder`` | ``None`` | model path / hub id / :class:`~advrec_gym.TransformerEncoder`; ``None``: all-MiniLM-L6-v2 |
    | ``cache_dir`` | ``None`` | embedding cache folder (default ``$ADVREC_CACHE_DIR`` or ``~/.cache/advrec``) |
    | ``user_model`` | ``UserModel()`` | a :class:`~advrec_gym.UserModel` or :class:`~advrec_gym.UserPopulation` |
    | ``choice_model`` | ``LogitChoice()`` | the choice model |
    | ``dynamics`` | ``Dynamics()`` | quality gain, skip cost, outcome noise, reward, update rates |
    | ``slate_size`` | 1 | items per step (``<= num_items``) |
    | ``horizon`` | 100 | episode length at which ``truncated`` fires (``None``: never) |
    | ``render_mode`` | ``None`` | ``"ansi"`` (a line per step) or ``"rgb_array"`` (a picture of the episode) |

    ``num_items``, ``num_topics``, ``catalogue_seed``, ``kinds``, ``encoder`` and ``cache_dir`` only
    build the synthetic catalogue: passing any of them with ``catalogue`` is an error.

    ## Seeding

    ``reset(seed=s)`` keys the user stream from ``s``; every random draw (the user, each click, each
    outcome) is a hash of (key, episode, step), so the episode is reproducible from its seed, and
    ``reset()`` without a seed moves to the key's next episode.

    ## Vectorized environment

    ``gym.make_vec("AdvRec-v1", num_envs=N, vectorization_mode="vector_entry_point")`` returns
    :class:`~advrec_gym.AdvRecVectorEnv`: the same compiled kernel over N slots, same-step autoreset
    inside the kernel. Slot ``i`` seeded ``s + i`` follows exactly this env seeded ``s + i`` under the
    same actions, across autoresets.

    ## Info

    ``click`` (bool), ``clicked_item`` (index, -1 for none), ``satisfaction`` (the observed outcome,
    0 without a click), ``low_quality_shown`` (share of the shown slate with ``q < 0``),
    ``low_quality_clicked`` (bool): the information-filtering metrics.

    ## Version History

    * v1: hidden item quality and appeal (clickbait), outcomes that change the user's budget, the
      liked / regretted split of the clicked history, three more scalars, the env's own horizon; a
      compiled kernel with counter-based randomness (trajectories differ from v0).
    * v0: initial version (frozen in :mod:`advrec_gym.v0`).
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": 4}

    def __init__(
        self,
        catalogue: Catalogue | None = None,
        *,
        num_items: int | None = None,
        num_topics: int | None = None,
        catalogue_seed: int | None = None,
        kinds: ItemKinds | None = None,
        encoder: TransformerEncoder | str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
        user_model: UserModel | UserPopulation | None = None,
        choice_model: LogitChoice | None = None,
        dynamics: Dynamics | None = None,
        slate_size: int = 1,
        horizon: int | None = 100,
        render_mode: str | None = None,
        **unknown: Any,
    ):
        reject_unknown(unknown, (*ENV_KWARGS, "render_mode"))
        if render_mode is not None:
            check_choice("render_mode", render_mode, RENDER_MODES)
        options = dict(catalogue=catalogue, num_items=num_items, num_topics=num_topics, catalogue_seed=catalogue_seed)
        options.update(kinds=kinds, encoder=encoder, cache_dir=cache_dir, user_model=user_model)
        options.update(choice_model=choice_model, dynamics=dynamics, slate_size=slate_size, horizon=horizon)
        self.engine = build_engine(1, False, **options)
        self.action_space, self.observation_space = single_spaces(self.engine)
        self.render_mode = render_mode
        self._log = EpisodeLog(self.engine) if render_mode is not None else None
        self._slate = np.zeros((1, self.engine.slate_size), dtype=np.int64)
        self._num_items, self._single_item = self.engine.catalogue.num_items, self.engine.slate_size == 1

    @property
    def catalogue(self) -> Catalogue:
        return self.engine.catalogue

    @property
    def embedding_slice(self) -> slice:
        """The part of the observation made of item embeddings (the attack surface)."""
        return self.engine.embedding_slice

    @property
    def scalar_names(self) -> tuple[str, ...]:
        return K.SCALAR_NAMES

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.engine.reset(_ROW, None if seed is None else [seed])
        if self._log is not None:
            self._log.start()
        return self.engine.obs[0].copy(), {}

    def step(self, action):
        engine = self.engine
        if not engine.seeded:
            raise gym.error.ResetNeeded("Call reset() before step().")
        if type(action) is int and self._single_item and 0 <= action < self._num_items:  # the common case, fast
            self._slate[0, 0] = action
        else:
            check_single_action(action, self._num_items, engine.slate_size, out=self._slate)
        engine.step(self._slate)
        reward, terminated, truncated, item, satisfaction, low_shown, low_clicked = engine.out[0].tolist()
        item = int(item)
        info = {
            "click": item >= 0,
            "clicked_item": item,
            "satisfaction": satisfaction,
            "low_quality_shown": low_shown,
            "low_quality_clicked": low_clicked > 0,
        }
        if self._log is not None:
            self._log.record(self._slate[0], info, reward)
        return engine.obs[0].copy(), reward, terminated > 0, truncated > 0, info

    def render(self):
        if self.render_mode is None:
            gym.logger.warn(
                'AdvRecEnv.render() was called without a render_mode: make it with render_mode="ansi" or "rgb_array".'
            )
            return None
        return self._log.ansi() if self.render_mode == "ansi" else self._log.rgb_array()
