"""Evaluate any policy with SB3's ``predict`` signature on the native vector env."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EvalResult:
    """Per-episode results of an evaluation."""

    returns: np.ndarray
    lengths: np.ndarray
    clicks: np.ndarray

    @property
    def mean_return(self) -> float:
        return float(self.returns.mean())

    @property
    def ctr(self) -> float:
        """Clicks per recommendation over all evaluated steps."""
        return float(self.clicks.sum() / max(self.lengths.sum(), 1))

    def summary(self) -> dict[str, float]:
        return {
            "return_mean": self.mean_return,
            "return_std": float(self.returns.std()),
            "ctr": self.ctr,
            "length_mean": float(self.lengths.mean()),
            "episodes": int(len(self.returns)),
        }


def evaluate(venv, policy, episodes: int, seed: int, deterministic: bool = False) -> EvalResult:
    """Run ``episodes`` complete episodes of ``policy`` on a vector env and collect their results.

    Each slot runs a fixed share of the episodes (as SB3's ``evaluate_policy`` does), so short
    episodes are not over-represented. ``venv`` must use same-step autoreset (AdvRecVectorEnv does).
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got episodes={episodes}.")
    n = venv.num_envs
    targets = np.array([(episodes + i) // n for i in range(n)])
    counts = np.zeros(n, dtype=np.int64)
    ep_return = np.zeros(n)
    ep_len = np.zeros(n, dtype=np.int64)
    ep_clicks = np.zeros(n, dtype=np.int64)
    returns, lengths, clicks = [], [], []
    obs, _ = venv.reset(seed=seed)
    while (counts < targets).any():
        actions, _ = policy.predict(obs, deterministic=deterministic)
        obs, reward, terminated, truncated, info = venv.step(actions)
        ep_return += reward
        ep_len += 1
        ep_clicks += info["click"]
        for i in np.flatnonzero(terminated | truncated):
            if counts[i] < targets[i]:
                returns.append(ep_return[i])
                lengths.append(ep_len[i])
                clicks.append(ep_clicks[i])
                counts[i] += 1
            ep_return[i], ep_len[i], ep_clicks[i] = 0.0, 0, 0
    return EvalResult(np.array(returns), np.array(lengths), np.array(clicks))
