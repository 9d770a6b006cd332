"""A vector-env proxy for the evaluator that counts what was done with the target items and logs events.

:func:`advrec_gym.evaluation.evaluate` reads only ``num_envs``, ``reset`` and ``step``; this proxy
passes them through and records, per step, how many slots were shown a target item and how many
clicked one, and (``log=True``) every slot's (item, click, satisfaction) events split into episodes,
so that :func:`advrec_gym.attacks.text.shift.observation_shift` can replay them with other embeddings.
:func:`run_cell` is one evaluation cell of the track: a recommender on a (clean or edited)
catalogue, on the evaluation users of ``EVAL_SEED``.
"""

from __future__ import annotations

import numpy as np

from advrec_gym.attacks.text import PromotionObjective, policy_scorer, swapped_catalogue
from advrec_gym.evaluation import evaluate
from benchmarks.seeds import EVAL_SEED


class TargetCounter:
    """Wraps a same-step-autoreset vector env (see the module docstring)."""

    def __init__(self, venv, targets, log: bool = False, max_events: int = 20_000):
        self.venv, self.targets, self.log, self.max_events = venv, np.asarray(targets), log, max_events
        self.num_envs = venv.num_envs
        self.unwrapped = venv.unwrapped
        self.steps = self.shown = self.clicked = 0
        self._open: list[list[tuple[int, float, float]]] = [[] for _ in range(self.num_envs)]
        self.episodes: list[list[tuple[int, float, float]]] = []

    def reset(self, **kwargs):
        self._open = [[] for _ in range(self.num_envs)]
        return self.venv.reset(**kwargs)

    def step(self, actions):
        obs, reward, terminated, truncated, info = self.venv.step(actions)
        a = np.asarray(actions).reshape(self.num_envs, -1)
        self.steps += self.num_envs
        self.shown += int(np.isin(a, self.targets).any(axis=1).sum())
        clicked = np.asarray(info["clicked_item"])
        self.clicked += int(np.isin(clicked, self.targets).sum())
        if self.log and sum(map(len, self.episodes)) < self.max_events:
            for i in range(self.num_envs):
                self._open[i].append((int(a[i, 0]), float(info["click"][i]), float(info["satisfaction"][i])))
                if terminated[i] or truncated[i]:
                    self.episodes.append(self._open[i])
                    self._open[i] = []
        return obs, reward, terminated, truncated, info

    def events(self) -> dict[str, np.ndarray]:
        """The logged complete episodes as replay arrays (items, clicks, satisfaction, starts)."""
        seq = [e for ep in self.episodes for e in ep]
        starts = (
            np.concatenate([[True] + [False] * (len(ep) - 1) for ep in self.episodes]) if seq else np.zeros(0, bool)
        )
        arr = np.array(seq, dtype=np.float64).reshape(-1, 3)
        return {"items": arr[:, 0].astype(np.int64), "clicks": arr[:, 1], "satisfaction": arr[:, 2], "starts": starts}

    def rates(self) -> dict[str, float]:
        """Share of recommendations that showed a target, and target clicks per recommendation."""
        return {"target_shown": self.shown / max(self.steps, 1), "target_clicks": self.clicked / max(self.steps, 1)}


def run_cell(venv, victim, catalogue, targets, episodes, eval_obs, log=False):
    """Evaluate ``victim`` with the env serving ``catalogue``; returns (metrics, counter).

    ``eval_obs`` are evaluation users' states (for the exposure metrics: the policy's probability mass
    on the targets and exposure@10, scored with ``catalogue``'s embeddings).
    """
    counter = TargetCounter(venv, targets, log=log)
    with swapped_catalogue(venv, victim, catalogue):
        report = evaluate(counter, victim, episodes=episodes, seed=EVAL_SEED)
    exposure = PromotionObjective(policy_scorer(victim), eval_obs, catalogue.embeddings, targets).report(
        catalogue.embeddings
    )
    s = report.summary()
    metrics = {"return": s["return_mean"], "ctr": s["ctr"], "length": s["length_mean"],
               "low_quality_shown": s["low_quality_shown"], **counter.rates(), "mass": exposure["mass"],
               "exposure@10": exposure["exposure@10"], "returns": report.returns.tolist()}  # fmt: skip
    return metrics, counter
