"""The project's one evaluator: complete episodes of a policy on a vector env, clean or under attack.

Generic over policies: an SB3 model or policy (its actions sampled from a generator seeded by the
evaluation seed, never torch's global one) or anything with SB3's ``predict(obs, deterministic=...)``
(the baselines, LinUCB, the oracles: they own their randomness). Generic over envs: any vector env
with same-step autoreset (AdvRec-v1's, AdvRec-v0's). The information-filtering metrics come from the
env's ``info`` (AdvRec-v1 reports them; they are NaN for an env that does not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from advrec_gym._validation import check_float, check_int
from advrec_gym.attacks.base import Attacker
from advrec_gym.attacks.victim import VictimActor, torch_policy

# Separate streams, so that attacking (or not) never shifts the policy's sampled actions.
_ACT_STREAM, _ATTACK_STREAM, _COIN_STREAM = 0xE7A1, 0xE7A2, 0xE7A3


@dataclass(frozen=True)
class EvalReport:
    """Per-episode results of an evaluation, and per-step attack statistics.

    Per counted episode: ``returns``, ``lengths``, ``clicks``, ``truncated`` (reached the time limit:
    the user stayed), ``low_quality_shown`` (summed share of low-quality items in the shown slates)
    and ``low_quality_clicked`` (clicks on low-quality items). ``steps`` counts every slot-step the
    evaluation ran (the unfinished episodes around the counted ones included), ``attacked_steps`` the
    attacked ones among them, ``changed_steps`` those where the greedy action changed, ``norm_sum``
    their summed perturbation norms.
    """

    returns: np.ndarray
    lengths: np.ndarray
    clicks: np.ndarray
    truncated: np.ndarray
    low_quality_shown: np.ndarray
    low_quality_clicked: np.ndarray
    steps: int = 0
    attacked_steps: int = 0
    changed_steps: int = 0
    norm_sum: float = 0.0

    @property
    def mean_return(self) -> float:
        return float(self.returns.mean())

    @property
    def ctr(self) -> float:
        """Clicks per recommendation over all counted steps."""
        return float(self.clicks.sum() / max(self.lengths.sum(), 1))

    @property
    def retention(self) -> float:
        """Mean episode length: how long users stayed."""
        return float(self.lengths.mean())

    @property
    def truncation_rate(self) -> float:
        """Share of episodes that reached the time limit (the user did not leave)."""
        return float(self.truncated.mean())

    @property
    def low_quality_shown_share(self) -> float:
        """Share of the shown items that were low quality (NaN for an env that does not report it)."""
        return float(self.low_quality_shown.sum() / max(self.lengths.sum(), 1))

    @property
    def low_quality_clicked_share(self) -> float:
        """Share of the clicks that went to low-quality items (NaN without clicks or without the info)."""
        clicks = self.clicks.sum()
        return float(self.low_quality_clicked.sum() / clicks) if clicks else float("nan")

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
            "length_mean": self.retention,
            "truncation_rate": self.truncation_rate,
            "low_quality_shown": self.low_quality_shown_share,
            "low_quality_clicked": self.low_quality_clicked_share,
            "success_rate": self.success_rate,
            "mean_norm": self.mean_norm,
            "attacked_share": self.attacked_steps / max(self.steps, 1),
            "episodes": int(len(self.returns)),
        }


def evaluate(
    venv: Any,
    policy: Any,
    episodes: int,
    *,
    seed: int,
    deterministic: bool = False,
    attacker: Attacker | None = None,
    ratio: float = 1.0,
) -> EvalReport:
    """Run ``episodes`` complete episodes of ``policy``, acting on attacked observations if ``attacker``.

    Each slot runs a fixed share of the episodes (as SB3's ``evaluate_policy`` does), so short
    episodes are not over-represented. Everything is seeded from ``seed``: the env
    (``reset(seed=seed)``), an SB3 policy's sampled actions, the attacker and its coin flips, each from
    its own stream, so the same seed gives the same users and, for a policy that ignores the attack,
    the same actions with or without one (common random numbers across attacks).

    Args:
        venv: a vector env with same-step autoreset.
        policy: the recommender (see the module docstring).
        episodes: number of complete episodes.
        seed: the evaluation seed.
        deterministic: act greedily.
        attacker: perturbs what the policy observes on a share ``ratio`` of steps (``None``: clean).
        ratio: share of steps attacked.
    """
    episodes = check_int("episodes", episodes, low=1)
    ratio = check_float("ratio", ratio, low=0.0, high=1.0)
    torch_victim = torch_policy(policy) is not None
    actor = VictimActor(policy) if torch_victim else None
    act_rng, coin_rng = np.random.default_rng([seed, _ACT_STREAM]), np.random.default_rng([seed, _COIN_STREAM])
    if attacker is not None:
        attacker.reseed([seed, _ATTACK_STREAM])
    n = venv.num_envs
    targets = np.array([(episodes + i) // n for i in range(n)])
    counts = np.zeros(n, dtype=np.int64)
    ep = {name: np.zeros(n) for name in ("return", "length", "clicks", "lq_shown", "lq_clicked")}
    done_lists: dict[str, list] = {name: [] for name in (*ep, "truncated")}
    steps = attacked_steps = changed_steps = 0
    norm_sum = 0.0
    obs, _ = venv.reset(seed=seed)
    while (counts < targets).any():
        seen = np.asarray(obs, dtype=np.float32)
        if attacker is not None:
            rows = np.flatnonzero(coin_rng.random(n) < ratio)
            if rows.size:
                seen = np.array(seen, copy=True)
                clean_rows = seen[rows]
                seen[rows] = attacker.perturb(clean_rows)
                changed_steps += int(_greedy_changed(policy, actor, clean_rows, seen[rows]).sum())
                attacked_steps += rows.size
                norm_sum += float(attacker.budget.norm_of(seen[rows] - clean_rows).sum())
        if actor is not None:
            actions = actor.act(seen, act_rng, deterministic)
        else:
            actions, _ = policy.predict(seen, deterministic=deterministic)
        obs, reward, terminated, truncated, info = venv.step(actions)
        steps += n
        ep["return"] += reward
        ep["length"] += 1
        ep["clicks"] += np.asarray(info.get("click", np.asarray(reward) > 0), dtype=np.float64)
        ep["lq_shown"] += np.asarray(info.get("low_quality_shown", np.full(n, np.nan)), dtype=np.float64)
        ep["lq_clicked"] += np.asarray(info.get("low_quality_clicked", np.full(n, np.nan)), dtype=np.float64)
        for i in np.flatnonzero(terminated | truncated):
            if counts[i] < targets[i]:
                for name in ep:
                    done_lists[name].append(ep[name][i])
                done_lists["truncated"].append(bool(truncated[i] and not terminated[i]))
                counts[i] += 1
            for name in ep:
                ep[name][i] = 0.0
    return EvalReport(
        returns=np.array(done_lists["return"]),
        lengths=np.array(done_lists["length"], dtype=np.int64),
        clicks=np.array(done_lists["clicks"], dtype=np.int64),
        truncated=np.array(done_lists["truncated"], dtype=bool),
        low_quality_shown=np.array(done_lists["lq_shown"]),
        low_quality_clicked=np.array(done_lists["lq_clicked"]),
        steps=steps,
        attacked_steps=attacked_steps,
        changed_steps=changed_steps,
        norm_sum=norm_sum,
    )


def _greedy_changed(policy: Any, actor: VictimActor | None, clean: np.ndarray, perturbed: np.ndarray) -> np.ndarray:
    """Per row, whether the policy's greedy action differs between the clean and the perturbed batch."""
    if actor is not None:
        a, b = actor.greedy(clean), actor.greedy(perturbed)
    else:
        # a policy's own generator (tie-breaks) must not move: its sampled actions stay those of the clean run
        rng = getattr(policy, "rng", None)
        state = rng.bit_generator.state if isinstance(rng, np.random.Generator) else None
        a, _ = policy.predict(clean, deterministic=True)
        b, _ = policy.predict(perturbed, deterministic=True)
        a, b = np.asarray(a), np.asarray(b)
        if state is not None:
            rng.bit_generator.state = state
    return (a != b).reshape(len(a), -1).any(axis=1)
