"""How much an attack hurts: success rate, perturbation size, and return and CTR under attack.

Generic over policies: anything with SB3's ``predict(obs, deterministic=...)`` (SB3 models and
policies, the baselines), on any same-step-autoreset vector env (``AdvRecVectorEnv``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from advrec_gym._validation import check_float, check_int
from advrec_gym.attacks.base import Attacker
from advrec_gym.attacks.victim import VictimActor


def action_changed(policy: Any, clean_obs: np.ndarray, perturbed_obs: np.ndarray) -> np.ndarray:
    """Per row, whether the policy's greedy action (any slate position) differs between the two batches."""
    actor = VictimActor(policy)
    clean, perturbed = actor.greedy(np.asarray(clean_obs)), actor.greedy(np.asarray(perturbed_obs))
    return (clean != perturbed).reshape(len(clean), -1).any(axis=1)


def attack_success_rate(policy: Any, attacker: Attacker, obs: np.ndarray) -> float:
    """Share of the observations ``obs`` (n, obs_dim) on which the attack changes the greedy action."""
    obs = np.asarray(obs, dtype=np.float32)
    return float(action_changed(policy, obs, attacker.perturb(obs)).mean())


@dataclass(frozen=True)
class AttackReport:
    """Per-episode results of an evaluation under attack, and per-step attack statistics.

    ``returns``, ``lengths`` and ``clicks`` are per counted episode; ``steps`` counts every slot-step
    the evaluation ran (counted episodes and the unfinished ones around them), ``attacked_steps`` the
    attacked ones among them and ``changed_steps`` those where the greedy action changed.
    """

    returns: np.ndarray
    lengths: np.ndarray
    clicks: np.ndarray
    steps: int
    attacked_steps: int
    changed_steps: int
    norm_sum: float

    @property
    def mean_return(self) -> float:
        return float(self.returns.mean())

    @property
    def ctr(self) -> float:
        """Clicks per recommendation over all evaluated steps."""
        return float(self.clicks.sum() / max(self.lengths.sum(), 1))

    @property
    def success_rate(self) -> float:
        """Share of attacked steps where the victim's greedy action changed (0 when none was attacked)."""
        return self.changed_steps / max(self.attacked_steps, 1)

    @property
    def mean_norm(self) -> float:
        """Mean perturbation norm over attacked steps, in the budget's norm."""
        return self.norm_sum / max(self.attacked_steps, 1)

    def summary(self) -> dict[str, float]:
        return {
            "return_mean": self.mean_return,
            "return_std": float(self.returns.std()),
            "ctr": self.ctr,
            "success_rate": self.success_rate,
            "mean_norm": self.mean_norm,
            "attacked_share": self.attacked_steps / max(self.steps, 1),
            "episodes": int(len(self.returns)),
        }


def evaluate_attack(
    venv: Any,
    policy: Any,
    attacker: Attacker | None,
    *,
    episodes: int,
    seed: int,
    deterministic: bool = False,
    ratio: float = 1.0,
) -> AttackReport:
    """Run ``episodes`` complete episodes of ``policy`` acting on attacked observations.

    Each slot runs a fixed share of the episodes, so short episodes are not over-represented. Sampled
    actions (``deterministic=False``, the default) of an SB3 policy come from a generator seeded by
    ``seed``; the attack is seeded from ``seed`` too, so the report is reproducible.

    Args:
        venv: a vector env with same-step autoreset (``AdvRecVectorEnv``).
        policy: the recommender.
        attacker: the attack, or ``None`` for the natural (clean) return.
        episodes: number of complete episodes.
        seed: seeds the env (``reset(seed=seed)``), the policy's sampling, the coin flips and the attacker.
        deterministic: act greedily.
        ratio: share of steps attacked.
    """
    episodes = check_int("episodes", episodes, low=1)
    ratio = check_float("ratio", ratio, low=0.0, high=1.0)
    actor = VictimActor(policy)
    # Separate streams, so that attacking (or not) never shifts the policy's sampled actions.
    act_rng, coin_rng = np.random.default_rng([seed, 0xE7A1]), np.random.default_rng([seed, 0xE7A3])
    if attacker is not None:
        attacker.reseed([seed, 0xE7A2])
    n = venv.num_envs
    targets = np.array([(episodes + i) // n for i in range(n)])
    counts = np.zeros(n, dtype=np.int64)
    ep_return, ep_len, ep_clicks = np.zeros(n), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    returns, lengths, clicks = [], [], []
    steps = attacked_steps = changed_steps = 0
    norm_sum = 0.0
    obs, _ = venv.reset(seed=seed)
    while (counts < targets).any():
        seen = np.array(obs, dtype=np.float32)
        if attacker is not None:
            rows = np.flatnonzero(coin_rng.random(n) < ratio)
            if rows.size:
                seen[rows] = attacker.perturb(seen[rows])
                changed = action_changed(policy, obs[rows], seen[rows])
                attacked_steps += rows.size
                changed_steps += int(changed.sum())
                norm_sum += float(attacker.budget.norm_of(seen[rows] - obs[rows]).sum())
        obs, reward, terminated, truncated, info = venv.step(actor.act(seen, act_rng, deterministic))
        steps += n
        ep_return += reward
        ep_len += 1
        ep_clicks += np.asarray(info.get("click", np.asarray(reward) > 0), dtype=np.int64)
        for i in np.flatnonzero(terminated | truncated):
            if counts[i] < targets[i]:
                returns.append(ep_return[i])
                lengths.append(ep_len[i])
                clicks.append(ep_clicks[i])
                counts[i] += 1
            ep_return[i], ep_len[i], ep_clicks[i] = 0.0, 0, 0
    return AttackReport(
        np.array(returns), np.array(lengths), np.array(clicks), steps, attacked_steps, changed_steps, norm_sum
    )
