"""Reference ceilings that read the hidden state: a myopic oracle and a planning oracle.

Neither is a contestant: both see what no recommender observes (the users' interests, budgets and the
items' hidden quality). They bracket what is possible:

* :class:`MyopicOracle` shows the items with the highest probability of a click right now. On
  AdvRec-v0 it is the ceiling; on AdvRec-v1 it chases clickbait, and its users leave early.
* :class:`PlanningOracle` plans over the known dynamics: one step of expected reward plus the value of
  the user's expected change of remaining budget, ``score_i = p_i + lambda * E[delta budget_i]`` with
  ``E[delta budget_i] = p_i * g * q_i - (1 - p_i) * skip_cost`` (a click on item ``i`` moves the budget by
  ``g * q_i``, a skip costs ``skip_cost``; the step's own cost is the same for every item), and the
  budget counted only while it binds: once the user's budget covers every remaining step even without a
  click (``B >= (horizon - t) * (1 + skip_cost)``), no item can make them leave and the oracle takes
  the clicks. ``lambda`` (the value of a unit of budget in clicks) is chosen by grid search on
  training users (``benchmarks/v1_dynamics.py``); ``lambda = 0`` is the myopic oracle.
"""

from __future__ import annotations

import numpy as np

from advrec_gym._validation import check_float


def _batch(observation) -> tuple[int, bool]:
    obs = np.asarray(observation)
    return (1, True) if obs.ndim == 1 else (obs.shape[0], False)


def _top(scores: np.ndarray, k: int, single: bool) -> np.ndarray:
    if k == 1:
        actions = scores.argmax(axis=1).astype(np.int64)
    else:
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(-scores, top, axis=1).argsort(axis=1)
        actions = np.take_along_axis(top, order, axis=1).astype(np.int64)
    return actions[0] if single else actions


class MyopicOracle:
    """Shows the items with the highest true click probability now (hidden interests, fatigue, appeal).

    Args:
        env: the AdvRec env (single or vector, v0 or v1) whose users it serves.
    """

    def __init__(self, env):
        self.engine = env.unwrapped.engine
        self.slate_size = self.engine.slate_size

    def predict(self, observation, state=None, episode_start=None, deterministic: bool = True):
        _, single = _batch(observation)
        return _top(self.engine.click_probabilities(), self.slate_size, single), state


class PlanningOracle:
    """Plans over AdvRec-v1's known dynamics: click now, or keep the user (see the module docstring).

    Args:
        env: the AdvRec-v1 env (single or vector) whose users it serves.
        budget_value: ``lambda``, clicks per unit of budget while the budget binds (>= 0).
    """

    def __init__(self, env, budget_value: float = 0.3):
        self.engine = env.unwrapped.engine
        if not hasattr(self.engine, "dynamics"):
            raise TypeError("PlanningOracle needs an AdvRec-v1 env (hidden quality and its dynamics); got AdvRec-v0.")
        self.slate_size = self.engine.slate_size
        self.budget_value = check_float("budget_value", budget_value, low=0.0)

    def predict(self, observation, state=None, episode_start=None, deterministic: bool = True):
        _, single = _batch(observation)
        eng = self.engine
        dyn, cat = eng.dynamics, eng.catalogue
        p = eng.click_probabilities()
        delta = p * (dyn.quality_gain * cat.quality[None, :]) - (1.0 - p) * dyn.skip_cost
        horizon = eng.horizon if eng.horizon is not None else np.inf
        binding = eng.budget < (horizon - eng.t) * (1.0 + dyn.skip_cost)
        scores = p + (self.budget_value * binding)[:, None] * delta
        return _top(scores, self.slate_size, single), state
