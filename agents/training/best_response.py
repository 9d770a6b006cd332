"""The learned best response to a frozen recommender: one trainer for the game's report and the leaderboard.

Two kinds of learned adversary (``kind``):

* ``"learned"``: SB3 PPO on :class:`~advrec_gym.attacks.AttackerVectorEnv` whose action is the
  perturbation direction itself (ATLA's / SA-RL's optimal adversary, Zhang et al. 2021), with the
  white-box warm start of :mod:`agents.training.adversary_fit` where the victim is a torch policy.
* ``"pa-ad"``: PA-AD (Sun et al. 2022): PPO learns a *director* that picks a direction in the victim's
  policy space (one embedding-sized vector per slate position, far smaller than the observation), and
  :class:`~advrec_gym.attacks.PAAD`'s gradient actor realises it in the ball. The director acts
  relative to the expected-embedding direction (``-E_pi0[e]``, PAAD's ``prior``), so the untrained
  PA-AD is the ``"pgd-semantic"`` attack; PPO then searches for directions that cost the victim more
  *return*, which a per-step gradient attack cannot see.

**Trained until it plateaus.** Every ``check_every`` env steps (and once after the warm start) the
adversary (its mean action) is scored by the victim's mean return over ``eval_episodes`` episodes on
fixed training-side users (the same users at every check). Training stops when the best score of the
last ``patience`` checks is not ``min_improvement`` (relative) below the best score before them, or at
``max_steps``; the adversary of the best check is kept (as APGD keeps its best iterate), and the
learning curve (env steps, victim return, the PPO update's KL) is returned with it, and whether it
plateaued.

**Trust region.** PPO's ``approx_kl`` on the adversary's 1,152-d Gaussian ran at 2.7-42 with the game's
first settings (a small change of every coordinate of the mean is a large KL in 1,152 dimensions).
:class:`TrustRegionMonitor` measures the exact KL between the rollout's policy and the updated one on
the rollout's observations; ``attacker_learning_rate`` 3e-5 and ``attacker_target_kl`` 0.02 (SB3's
early stop of the epochs) keep it below :data:`KL_BOUND` (docs/attacks.md gives the measurements).
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch as th
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecMonitor

from advrec_gym._validation import check_choice, check_float, check_int
from advrec_gym.attacks import PAAD, AttackerVectorEnv, Budget, LearnedAdversary, evaluate_attack
from advrec_gym.attacks.base import env_item_embeddings
from advrec_gym.attacks.victim import gradient_policy
from advrec_gym.sb3_adapter import SB3VecEnvAdapter
from agents.training import adversary_fit
from agents.training.config import TrainConfig
from agents.training.players import make_adversary

KINDS = ("learned", "pa-ad")
#: the bound the adversary's PPO updates stay under (exact mean KL per update, tested)
KL_BOUND = 0.1
#: the warm start's objective for the "learned" kind: the suite's strongest per-step objective on the
#: vanilla item-embedding PPO (docs/attacks.md)
WARM_START_OBJECTIVE = "semantic"
#: users of the plateau checks: training seed + this (training-side, never the board's evaluation users)
CHECK_SEED_OFFSET = 7_777


@dataclass(frozen=True)
class PlateauRule:
    """When a best response has stopped improving (see the module doc).

    Attributes:
        max_steps: env steps of PPO at most.
        check_every: env steps between two checks.
        patience: checks without a ``min_improvement`` gain before stopping.
        min_improvement: the relative fall of the victim's return that counts as a gain.
        eval_episodes: episodes of each check.
    """

    max_steps: int = 200_000
    check_every: int = 10_000
    patience: int = 3
    min_improvement: float = 0.02
    eval_episodes: int = 64

    def __post_init__(self):
        check_int("max_steps", self.max_steps, low=0)
        check_int("check_every", self.check_every, low=1)
        check_int("patience", self.patience, low=1)
        check_float("min_improvement", self.min_improvement, low=0.0, high=1.0)
        check_int("eval_episodes", self.eval_episodes, low=1)

    def plateaued(self, returns: list[float]) -> bool:
        """Whether the victim returns of the checks so far (lower is a stronger adversary) have plateaued."""
        if len(returns) <= self.patience:
            return False
        before, recent = min(returns[: -self.patience]), min(returns[-self.patience :])
        return recent > before - self.min_improvement * abs(before)


class TrustRegionMonitor(BaseCallback):
    """Records every PPO update of a Gaussian policy: the exact mean ``KL(pi_old || pi_new)`` on the
    rollout's observations, and SB3's ``approx_kl`` and clip fraction."""

    def __init__(self):
        super().__init__()
        self.updates: list[dict[str, float]] = []
        self._old, self._obs = None, None

    def _on_rollout_end(self) -> None:
        buffer = self.model.rollout_buffer
        obs = th.as_tensor(buffer.observations.reshape(-1, *buffer.obs_shape), device=self.model.device)
        with th.no_grad():
            self._old, self._obs = self.model.policy.get_distribution(obs).distribution, obs

    def _on_rollout_start(self) -> None:
        self._record()

    def _on_training_end(self) -> None:
        self._record()

    def _record(self) -> None:
        if self._obs is None or "train/approx_kl" not in self.model.logger.name_to_value:
            return
        with th.no_grad():
            new = self.model.policy.get_distribution(self._obs).distribution
            kl = th.distributions.kl_divergence(self._old, new).sum(-1).mean().item()
        values = self.model.logger.name_to_value
        self.updates.append(
            {
                "steps": int(self.model.num_timesteps),
                "kl": kl,
                "approx_kl": float(values["train/approx_kl"]),
                "clip_fraction": float(values.get("train/clip_fraction", float("nan"))),
            }
        )
        self._old, self._obs = None, None

    def _on_step(self) -> bool:
        return True


@dataclass
class BestResponse:
    """A trained best response: the adversary, how it was trained, and its learning curve.

    Attributes:
        adversary: the PPO model (the attacker policy, or PA-AD's director).
        kind: ``"learned"`` or ``"pa-ad"``.
        budget: the ball it attacks in.
        env_steps: PPO env steps.
        wall_s: seconds, warm start and checks included.
        curve: one dict per check: ``steps``, ``victim_return``, ``kl_max`` (largest exact update KL since
            the previous check).
        updates: every PPO update (see :class:`TrustRegionMonitor`).
        plateaued: stopped by the plateau rule (else by ``max_steps``).
        rule: the plateau rule.
        warm_start: what the warm start ended at (``None`` without one).
        actor_steps: PA-AD's actor's APGD steps.
        item_embeddings: the env's catalogue embeddings (PA-AD's actor needs them).
        embedding_slice: the env's attacked coordinates (``env.unwrapped.embedding_slice``: the history
            blocks of AdvRec-v0 or -v1), which :meth:`attacker` perturbs.
        best_check: the check whose adversary is kept (the lowest victim return of the curve; the
            adversary is restored to it at the end).
    """

    adversary: PPO
    kind: str
    budget: Budget
    env_steps: int
    wall_s: float
    curve: list[dict[str, float]]
    updates: list[dict[str, float]]
    plateaued: bool
    rule: PlateauRule
    warm_start: dict[str, Any] | None = None
    actor_steps: int = 10
    item_embeddings: np.ndarray | None = field(default=None, repr=False)
    embedding_slice: slice | None = None
    best_check: int = 0

    def attacker(self, victim: Any, seed: int | None = None):
        """The adversary as an attacker against ``victim`` (its mean action)."""
        if self.kind == "learned":
            return LearnedAdversary(self.adversary, self.budget, embedding_slice=self.embedding_slice, seed=seed)
        return PAAD(
            self.adversary,
            victim,
            self.budget,
            steps=self.actor_steps,
            item_embeddings=self.item_embeddings,
            embedding_slice=self.embedding_slice,
            seed=seed,
        )

    def summary(self) -> dict[str, Any]:
        """JSON-ready: everything but the model (for results files)."""
        return {
            "kind": self.kind,
            "env_steps": self.env_steps,
            "wall_s": round(self.wall_s, 3),
            "plateaued": self.plateaued,
            "rule": asdict(self.rule),
            "curve": self.curve,
            "best_check": self.best_check,
            "kl_max": max((u["kl"] for u in self.updates), default=0.0),
            "approx_kl_max": max((u["approx_kl"] for u in self.updates), default=0.0),
            "warm_start": self.warm_start,
        }


def fit_best_response(
    victim: Any,
    make_env: Callable[[], Any],
    budget: Budget,
    settings: TrainConfig,
    *,
    seed: int,
    kind: str = "pa-ad",
    rule: PlateauRule | None = None,
    device: Any = "auto",
    victim_deterministic: bool = False,
    actor_steps: int = 10,
) -> BestResponse:
    """Train a best response to the frozen ``victim`` until it plateaus (see the module doc).

    Args:
        victim: the recommender (an SB3 model, or anything with SB3's ``predict``; ``"pa-ad"`` and the
            warm start need a differentiable one).
        make_env: builds a fresh vector env (same-step autoreset) of the victim's users: one for PPO,
            one for the checks.
        budget: the ball.
        settings: the adversary's PPO settings (the ``attacker_*`` fields of a ``TrainConfig``).
        seed: seeds the networks, the env, the warm start's states and the checks' users.
        kind: ``"learned"`` or ``"pa-ad"``.
        rule: the plateau rule (default :class:`PlateauRule()`).
        device: the adversary's torch device.
        victim_deterministic: the victim acts greedily (default: it samples, as it is ranked).
        actor_steps: PA-AD's actor's APGD steps.
    """
    check_choice("kind", kind, KINDS)
    rule = PlateauRule() if rule is None else rule
    start = time.perf_counter()
    venv = make_env()
    differentiable = gradient_policy(victim) is not None
    actor = None
    if kind == "pa-ad":
        if not differentiable:
            raise TypeError(
                f"kind='pa-ad' realises its director with a gradient actor: the victim must have a differentiable "
                f"action distribution, got {type(victim).__name__}; use kind='learned'."
            )
        actor = PAAD(None, victim, budget, steps=actor_steps, seed=seed)
    attacker_env = AttackerVectorEnv(
        victim, env=venv, budget=budget, victim_deterministic=victim_deterministic, actor=actor
    )
    if kind == "pa-ad":  # the director's own step size (its Gaussian is 3x smaller than the perturbation's)
        settings = dataclasses.replace(settings, attacker_learning_rate=settings.attacker_director_learning_rate)
    model = make_adversary(settings, VecMonitor(SB3VecEnvAdapter(attacker_env)), device=device, seed=seed)
    warm_start = None
    if kind == "learned" and differentiable and settings.attacker_fit_epochs:
        states = adversary_fit.collect_states(victim, make_env(), settings.attacker_fit_states, seed)
        emb = env_item_embeddings(venv)
        loss = adversary_fit.fit_adversary(
            model,
            victim,
            states,
            budget,
            venv.unwrapped.embedding_slice,
            epochs=settings.attacker_fit_epochs,
            seed=seed,
            objective=WARM_START_OBJECTIVE,
            item_embeddings=emb,
        )
        warm_start = {"epochs": settings.attacker_fit_epochs, "states": settings.attacker_fit_states, "loss": loss}
    check_env = make_env()
    response = BestResponse(
        model,
        kind,
        budget,
        0,
        0.0,
        [],
        [],
        False,
        rule,
        warm_start,
        actor_steps,
        env_item_embeddings(venv),
        venv.unwrapped.embedding_slice,
    )

    def check(kl_max: float) -> None:
        attacker = response.attacker(victim, seed=seed)
        report = evaluate_attack(
            check_env,
            victim,
            attacker,
            episodes=rule.eval_episodes,
            seed=seed + CHECK_SEED_OFFSET,
            deterministic=victim_deterministic,
        )
        response.curve.append(
            {"steps": int(model.num_timesteps), "victim_return": round(report.mean_return, 4), "kl_max": kl_max}
        )

    monitor = TrustRegionMonitor()
    check(0.0)
    best = (response.curve[-1]["victim_return"], copy.deepcopy(model.policy.state_dict()), 0)
    model.set_random_seed(seed)
    while model.num_timesteps < rule.max_steps and not response.plateaued:
        seen = len(monitor.updates)
        chunk = min(rule.check_every, rule.max_steps - model.num_timesteps)
        model.learn(chunk, callback=monitor, reset_num_timesteps=False)
        check(max((u["kl"] for u in monitor.updates[seen:]), default=0.0))
        if response.curve[-1]["victim_return"] < best[0]:
            best = (
                response.curve[-1]["victim_return"],
                copy.deepcopy(model.policy.state_dict()),
                len(response.curve) - 1,
            )
        response.plateaued = rule.plateaued([c["victim_return"] for c in response.curve])
    # the adversary kept is the best one the checks saw (its checks' users are not the evaluation users)
    model.policy.load_state_dict(best[1])
    response.best_check = best[2]
    response.env_steps = int(model.num_timesteps)
    response.updates = monitor.updates
    response.wall_s = time.perf_counter() - start
    return response


def best_response_rule(steps: int, num_envs: int, n_steps: int) -> PlateauRule:
    """The plateau rule for a budget of ``steps`` env steps: about ten checks, each at least one PPO rollout."""
    steps = check_int("steps", steps, low=0)
    rollout = num_envs * n_steps
    return PlateauRule(max_steps=steps, check_every=max(rollout, -(-steps // 10) if steps else rollout))


def as_numpy_curve(response: BestResponse) -> tuple[np.ndarray, np.ndarray]:
    """(env steps, victim return) of the learning curve, as arrays (for plots)."""
    steps = np.array([c["steps"] for c in response.curve])
    return steps, np.array([c["victim_return"] for c in response.curve])
