"""AdvRec-v0: one simulated user at a time over a language-model-encoded catalogue."""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np

from advrec_gym._validation import reject_unknown
from advrec_gym.actions import check_single_action
from advrec_gym.catalogue import Catalogue
from advrec_gym.choice import LogitChoice
from advrec_gym.encoder import TransformerEncoder
from advrec_gym.users import UserModel
from advrec_gym.v0.engine import SCALAR_NAMES, HistoryRates
from advrec_gym.v0.options import ENV_KWARGS, build_engine, single_spaces


class AdvRecEnv(gym.Env):
    """A recommender serves one simulated user; the user clicks or not, drifts, tires, and leaves.

    ## Description

    The catalogue's items are texts encoded by a language model into unit vectors ``e_i`` (default:
    1,000 synthetic items over 20 topics, all-MiniLM-L6-v2, 384-d). Each episode draws a user with a
    hidden interest ``u`` (a unit vector near 1-3 topic centroids) and traits: time budget ``B``,
    drift rate ``eta`` and fatigue sensitivity ``phi`` (see :class:`~advrec_gym.UserModel`).

    ## Action Space

    ``Discrete(num_items)``: the item to show. With ``slate_size=k > 1``:
    ``MultiDiscrete([num_items] * k)``, a slate in position order. **Duplicates** in a slate are shown
    once: only the first occurrence can be clicked, later copies score zero probability (they still
    count in the shown average below).

    ## Observation Space

    A float32 ``Box`` of size ``3 * dim + 3`` (1,155 for the default encoder), built only from what the
    recommender saw, never from the hidden interest:

    | index | name | meaning | range |
    |---|---|---|---|
    | ``[0, dim)`` | clicked | exponential average of clicked items' embeddings, ``c += 0.3 (e - c)`` on a click | [-1, 1] |
    | ``[dim, 2dim)`` | skipped | exponential average of shown-but-not-clicked embeddings (rate 0.3) | [-1, 1] |
    | ``[2dim, 3dim)`` | shown | exponential average of everything shown, ``r += 0.5 (e - r)`` every step; this is the fatigue state, so a greedy policy can see what it showed recently | [-1, 1] |
    | ``3dim`` | last_click | 1 if the last step was clicked | {0, 1} |
    | ``3dim + 1`` | click_rate_ema | exponential average of clicks (rate 0.3) | [0, 1] |
    | ``3dim + 2`` | episode_ctr | clicks / steps so far (0 at reset) | [0, 1] |

    All history is zero at reset. ``env.unwrapped.embedding_slice`` (``slice(0, 3 * dim)``) is the
    part made of embeddings: the attack surface. Its natural scale: each block is an average of unit
    vectors, so its L2 norm is at most 1 and its coordinates have a typical spread of about
    ``1 / sqrt(dim)`` (0.05 for 384-d); an attack budget is stated in these raw units.

    ## Transition and choice model

    For a shown item ``e`` at slate position ``j`` with the shown-average ``r`` *before* this step
    (see :class:`~advrec_gym.LogitChoice`; defaults ``tau = 0.1``, ``a0 = 0.5``, ``theta = 0.5``, ``b = 0.8``)::

        fatigue = phi * max(0, <e, r> - theta) / (1 - theta)
        v_j     = (<u, e> - fatigue) / tau + j * log(b),    v_none = a0 / tau
        P(click slot j) = exp(v_j) / (exp(v_none) + sum_k exp(v_k))

    The click is drawn from these probabilities. On a click the interest drifts toward the clicked
    item: ``u <- normalise(u + eta (e - u))``. The budget runs down by 1 per step plus
    ``skip_cost`` (default 1) after a step without a click: poor recommendations shorten the visit.

    ## Rewards

    ``reward="click"`` (default): 1 for a click, else 0. ``reward="engagement"``: the clicked item's
    affinity ``clip(<u, e>, 0, 1)``, else 0.

    ## Starting State

    A fresh user (interest and traits) from the slot's generator; all history zero.

    ## Episode End

    ``terminated`` when the budget is spent (``B <= 0``): the user leaves. ``truncated`` only by the
    time limit: ``gym.make("AdvRec-v0")`` wraps the env in ``TimeLimit(max_episode_steps=100)``.

    ## Arguments

    | argument | default | meaning |
    |---|---|---|
    | ``catalogue`` | ``None`` | a :class:`~advrec_gym.Catalogue`; ``None`` builds the synthetic one below |
    | ``num_items``, ``num_topics``, ``catalogue_seed`` | 1000, 20, 0 | the synthetic catalogue (``None``: the default) |
    | ``encoder`` | ``None`` | model path / hub id / :class:`~advrec_gym.TransformerEncoder` for it; ``None`` is the shipped all-MiniLM-L6-v2 |
    | ``cache_dir`` | ``None`` | embedding cache folder (default ``$ADVREC_CACHE_DIR`` or ``~/.cache/advrec``) |
    | ``user_model`` | ``UserModel()`` | interest and trait distributions |
    | ``choice_model`` | ``LogitChoice()`` | the choice model |
    | ``slate_size`` | 1 | items per step (``<= num_items``) |
    | ``reward`` | ``"click"`` | ``"click"`` or ``"engagement"`` |
    | ``skip_cost`` | 1.0 | extra budget spent by a step without a click |
    | ``history_rates`` | ``HistoryRates()`` | update rates of the observation's averages |

    ``num_items``, ``num_topics``, ``catalogue_seed``, ``encoder`` and ``cache_dir`` only build the
    synthetic catalogue: passing any of them together with ``catalogue`` is an error (they would have
    no effect).

    ```python
    import gymnasium as gym
    import advrec_gym  # registers AdvRec-v0
    env = gym.make("AdvRec-v0", slate_size=3)
    obs, info = env.reset(seed=0)
    ```

    ## Vectorized environment

    ``gym.make_vec("AdvRec-v0", num_envs=N, vectorization_mode="vector_entry_point")`` returns
    :class:`~advrec_gym.v0.AdvRecVectorEnv`, the same engine with N slots and same-step autoreset.
    Slot ``i`` seeded with ``seed + i`` follows exactly the trajectory of this env seeded with
    ``seed + i`` under the same actions.

    ## Info

    ``click`` (bool) and ``clicked_item`` (catalogue index, -1 for none).

    ## Version History

    * v0: initial version.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        catalogue: Catalogue | None = None,
        *,
        num_items: int | None = None,
        num_topics: int | None = None,
        catalogue_seed: int | None = None,
        encoder: TransformerEncoder | str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
        user_model: UserModel | None = None,
        choice_model: LogitChoice | None = None,
        slate_size: int = 1,
        reward: str = "click",
        skip_cost: float = 1.0,
        history_rates: HistoryRates | None = None,
        render_mode: str | None = None,
        **unknown: Any,
    ):
        reject_unknown(unknown, ENV_KWARGS)
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (AdvRec has no renderer), got render_mode={render_mode!r}.")
        self.engine = build_engine(
            1,
            catalogue=catalogue,
            num_items=num_items,
            num_topics=num_topics,
            catalogue_seed=catalogue_seed,
            encoder=encoder,
            cache_dir=cache_dir,
            user_model=user_model,
            choice_model=choice_model,
            slate_size=slate_size,
            reward=reward,
            skip_cost=skip_cost,
            history_rates=history_rates,
            max_episode_steps=None,
        )
        self.action_space, self.observation_space = single_spaces(self.engine)
        self.render_mode = None
        self._slate = np.zeros((1, self.engine.slate_size), dtype=np.int64)

    @property
    def catalogue(self) -> Catalogue:
        return self.engine.catalogue

    @property
    def embedding_slice(self) -> slice:
        """The part of the observation made of item embeddings (the attack surface)."""
        return self.engine.embedding_slice

    @property
    def scalar_names(self) -> tuple[str, ...]:
        return SCALAR_NAMES

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.engine.rngs[0] = self.np_random
        self.engine.reset_users(np.zeros(1, dtype=np.int64))
        return self.engine.obs[0].copy(), {}

    def step(self, action):
        if self.engine.rngs[0] is None:
            raise gym.error.ResetNeeded("Call reset() before step().")
        check_single_action(action, self.engine.catalogue.num_items, self.engine.slate_size, out=self._slate)
        reward, terminated, _, clicked_item = self.engine.step(self._slate)
        item = int(clicked_item[0])
        info = {"click": item >= 0, "clicked_item": item}
        return self.engine.obs[0].copy(), float(reward[0]), bool(terminated[0]), False, info
