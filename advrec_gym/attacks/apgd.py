"""Gradient attacks that aim for the worst case: APGD (Croce and Hein 2020) and MAD (Zhang et al. 2020).

:class:`APGD` is the evaluation attack of the suite (``"pgd-topk"``, ``"pgd-semantic"``, ``"pgd-kl"``,
``"pgd-action"``, ``"critic"`` in :func:`~advrec_gym.attacks.make_attacker`). Per restart it takes
``steps`` projected steps with momentum and AutoAttack's step-size schedule: the step starts at
``2 eps`` and is halved for a row at a checkpoint where fewer than 75% of its steps since the last
checkpoint raised the score, or where neither the step nor the best score moved since then; a halving
row restarts from its best point. The **best iterate is kept per row, by the objective**, over every
restart, and no row ever stops early. The first restart starts at ``d = 0`` and its first step is
FGSM's (size ``eps``), so FGSM's point is one of its candidates and the result scores at least as
high as FGSM on the same objective. Objectives whose gradient vanishes at ``d = 0`` (``"kl"``) start
instead from FGSM's point on the greedy action's log-probability; the other restarts start uniformly
in the ball. The step-size schedule can be a cosine decay instead (``schedule="cosine"``).

:class:`MAD` is the maximal-action-difference attack as SA-PPO published it: ``KL(pi(.|o) || pi(.|o + d))``
from a small random start, ``steps`` signed steps of ``eps / steps`` (L2: normalised gradient steps);
kept here for comparison with that literature (and with the best iterate kept).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from advrec_gym._validation import check_choice, check_float, check_int
from advrec_gym.attacks.base import make_budget
from advrec_gym.attacks.budget import Budget
from advrec_gym.attacks.feasible import Feasible
from advrec_gym.attacks.gradient import WhiteBoxAttack, _objective
from advrec_gym.attacks.objectives import FLAT_AT_CLEAN, OBJECTIVES, Objective, Victim

SCHEDULES = ("apgd", "cosine")
#: APGD's constants (Croce and Hein 2020): momentum, the share of improving steps below which the step halves
MOMENTUM, RHO = 0.75, 0.75


def apgd_checkpoints(steps: int) -> list[int]:
    """The iterations at which APGD may halve its step: ``ceil(p_j * steps)`` with ``p_0 = 0``, ``p_1 = 0.22``,
    ``p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06)``."""
    p = [0.0, 0.22]
    while p[-1] < 1.0:
        p.append(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06))
    marks = {math.ceil(round(q * steps, 9)) for q in p[1:]}  # round first: 0.22 * 100 is 22.000000000000004
    return sorted(m for m in marks if 0 < m < steps)


class _Best:
    """The best point (and score, and gradient there) found so far, per row."""

    def __init__(self, n: int, like: torch.Tensor, keep_grad: bool):
        self.score = torch.full((n,), -torch.inf, dtype=like.dtype, device=like.device)
        self.delta = torch.zeros_like(like)
        self.grad = torch.zeros_like(like) if keep_grad else None

    def update(self, score: torch.Tensor, delta: torch.Tensor, grad: torch.Tensor | None = None) -> None:
        better = score > self.score
        if better.any():
            self.score = torch.where(better, score, self.score)
            self.delta[better] = delta[better]
            if self.grad is not None and grad is not None:
                self.grad[better] = grad[better]


class APGD(WhiteBoxAttack):
    """Auto-PGD on one objective, with restarts, the step-size schedule and the best iterate per row.

    Args:
        victim: an SB3 model or its policy, or a victim with a torch ``gradient_policy``.
        budget: the ball (or give ``eps`` and ``norm``).
        objective: a name in :data:`~advrec_gym.attacks.objectives.OBJECTIVES` (``"topk"`` default; see
            :mod:`advrec_gym.attacks.objectives`); ``"direction"`` is PA-AD's actor (:class:`~advrec_gym.attacks.PAAD`),
            which passes the directions with each batch.
        steps: gradient steps per restart (each one forward+backward pass; plus one forward at the end).
        restarts: runs per call; the first from ``d = 0`` with an FGSM first step (or FGSM's point for
            ``"kl"``), the others from uniform draws in the ball.
        schedule: ``"apgd"`` (halving on stalls, restart from the best point) or ``"cosine"``.
        k, action_target, eot_samples: the objective's settings (top-k size; greedy or sampled clean
            actions, and how many samples for the expectation over the victim's sampling).
        target: the promoted item, for ``objective="target"``.
        item_embeddings: for ``"semantic"`` (default: the bound env's catalogue, or the victim's own).
        embedding_slice, clip_range, seed: as in :class:`~advrec_gym.attacks.Attacker`.

    Example:
        >>> attack = APGD(model, eps=0.01, objective="topk", steps=20, restarts=1, seed=0)   # doctest: +SKIP
        >>> perturbed = attack.perturb(obs_batch)                                           # doctest: +SKIP
    """

    name = "apgd"

    def __init__(
        self,
        victim: Any,
        budget: Budget | None = None,
        *,
        eps: float | None = None,
        norm: str = "inf",
        objective: str = "topk",
        steps: int = 20,
        restarts: int = 1,
        schedule: str = "apgd",
        k: int = 10,
        action_target: str = "greedy",
        eot_samples: int = 8,
        target: int | None = None,
        item_embeddings: Any = None,
        embedding_slice: slice | None = None,
        clip_range: tuple[float, float] | None = (-1.0, 1.0),
        seed: int | None = None,
    ):
        spec = _objective(objective, target, OBJECTIVES, k=k, action_target=action_target, eot_samples=eot_samples)
        super().__init__(
            victim,
            spec,
            make_budget(budget, eps, norm),
            item_embeddings=item_embeddings,
            embedding_slice=embedding_slice,
            clip_range=clip_range,
            seed=seed,
        )
        self.steps = check_int("steps", steps, low=1)
        self.restarts = check_int("restarts", restarts, low=1)
        self.schedule = check_choice("schedule", schedule, SCHEDULES)
        self.target = self._check_target(target)
        spec.target = self.target
        self._checkpoints = set(apgd_checkpoints(self.steps))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(eps={self.budget.eps}, norm={self.budget.norm!r}, "
            f"objective={self.objective!r}, steps={self.steps}, restarts={self.restarts}, schedule={self.schedule!r})"
        )

    @property
    def gradient_passes(self) -> int:
        """Forward+backward passes per call (the cost model of docs/attacks.md)."""
        fgsm_seed = 1 if self.objective.name in FLAT_AT_CLEAN else 0
        return self.restarts * self.steps + fgsm_seed

    # ------------------------------------------------------------------ the attack
    def _perturb_slice(self, obs: np.ndarray, sl: slice) -> np.ndarray:
        return self._attack(obs, sl)

    def _attack(self, obs: np.ndarray, sl: slice, directions: torch.Tensor | None = None) -> np.ndarray:
        objective, victim = self.objective, self.victim_view()
        with self._frozen:
            x = torch.as_tensor(obs, device=self.device)
            ball = Feasible(self.budget, self.clip_range, x, sl)
            with torch.no_grad():
                state = objective.clean(objective.forward(victim, x), victim, self.rng, directions=directions)
            best = _Best(len(x), x, keep_grad=False)
            for restart in range(self.restarts):
                fgsm_first = False
                if restart > 0:
                    start = ball.sample(self.rng)
                elif objective.name in FLAT_AT_CLEAN:
                    start = self._fgsm_point(victim, x, ball)
                else:
                    start, fgsm_first = ball.zeros(), True
                self._run(victim, x, ball, state, start, fgsm_first, best)
            return ball.finish(best.delta)

    def _fgsm_point(self, victim: Victim, x: torch.Tensor, ball: Feasible) -> torch.Tensor:
        """FGSM's point on the clean greedy action's log-probability (where a flat objective starts)."""
        seed_objective = Objective("action")
        delta = ball.zeros().requires_grad_(True)
        out = seed_objective.forward(victim, x + delta)
        score = seed_objective.score(out, seed_objective.clean(out, victim, self.rng), victim)
        (grad,) = torch.autograd.grad(score.sum(), delta)
        with torch.no_grad():
            return ball.project_(ball.direction_(grad).mul_(self.budget.eps))

    def _evaluate(self, victim: Victim, x: torch.Tensor, delta: torch.Tensor, state: dict, grad: bool):
        """(score (n,), gradient (n, obs_dim) or None) at ``x + delta``."""
        objective = self.objective
        if not grad:
            with torch.no_grad():
                return objective.score(objective.forward(victim, x + delta), state, victim), None
        delta = delta.detach().requires_grad_(True)
        score = objective.score(objective.forward(victim, x + delta), state, victim)
        (g,) = torch.autograd.grad(score.sum(), delta)
        return score.detach(), g

    def _run(self, victim, x, ball: Feasible, state, start: torch.Tensor, fgsm_first: bool, best: _Best) -> None:
        """One restart from ``start``: ``steps`` gradient steps, the schedule, and the best iterate into ``best``."""
        n, steps, eps = len(x), self.steps, self.budget.eps
        eta = torch.full((n, 1), 2.0 * eps, dtype=x.dtype, device=x.device)
        run = _Best(n, x, keep_grad=self.schedule == "apgd")
        delta, previous = start.clone(), start.clone()
        score_before: torch.Tensor | None = None
        rises = torch.zeros(n, dtype=torch.int64, device=x.device)
        mark_score, mark_eta, mark_step = None, eta.clone(), 0
        for i in range(steps + 1):
            score, grad = self._evaluate(victim, x, delta, state, grad=i < steps)
            best.update(score, delta)
            run.update(score, delta, grad)
            if score_before is not None:
                rises += (score > score_before).to(torch.int64)
            score_before = score
            if i == steps:
                break
            with torch.no_grad():
                if self.schedule == "apgd" and i in self._checkpoints:
                    stalled = rises < RHO * (i - mark_step)
                    if mark_score is not None:
                        stalled |= (mark_eta[:, 0] == eta[:, 0]) & (mark_score == run.score)
                    if stalled.any():  # halve the step and restart those rows from their best point
                        eta[stalled] *= 0.5
                        delta[stalled] = run.delta[stalled]
                        previous[stalled] = run.delta[stalled]
                        grad[stalled] = run.grad[stalled]
                    rises.zero_()
                    mark_score, mark_eta, mark_step = run.score.clone(), eta.clone(), i
                elif self.schedule == "cosine":
                    eta.fill_(2.0 * eps * 0.5 * (1.0 + math.cos(math.pi * i / steps)))
                direction = ball.direction_(grad)
                if i == 0:  # no momentum yet; restart 0's first step is FGSM's (size eps)
                    step = ball.project_(delta + (eps if fgsm_first else eta) * direction)
                else:
                    z = ball.project_(delta + eta * direction)
                    step = ball.project_(delta + MOMENTUM * (z - delta) + (1.0 - MOMENTUM) * (delta - previous))
                previous, delta = delta, step


class MAD(WhiteBoxAttack):
    """Maximal action difference (SA-PPO, Zhang et al. 2020): maximise ``KL(pi(.|o) || pi(.|o + d))``.

    SA-PPO's recipe: start uniformly within ``eps / steps`` of the clean observation, then ``steps``
    signed-gradient steps of ``step_size`` (default ``eps / steps``; L2: normalised gradient steps),
    projecting after each. The best iterate is kept per row, FGSM's point on the greedy action among
    the candidates (additions: the published attack returns the last iterate); ``restarts`` repeats it
    from fresh small random starts.

    Args:
        victim: an SB3 model or its policy, or a victim with a torch ``gradient_policy``.
        budget: the ball (or give ``eps`` and ``norm``).
        steps: gradient steps (default 10).
        step_size: default ``eps / steps``.
        restarts: independent runs (default 1).
        embedding_slice, clip_range, seed: as in :class:`~advrec_gym.attacks.Attacker`.
    """

    name = "mad"

    def __init__(
        self,
        victim: Any,
        budget: Budget | None = None,
        *,
        eps: float | None = None,
        norm: str = "inf",
        steps: int = 10,
        step_size: float | None = None,
        restarts: int = 1,
        embedding_slice: slice | None = None,
        clip_range: tuple[float, float] | None = (-1.0, 1.0),
        seed: int | None = None,
    ):
        budget = make_budget(budget, eps, norm)
        super().__init__(
            victim, Objective("kl"), budget, embedding_slice=embedding_slice, clip_range=clip_range, seed=seed
        )
        self.steps = check_int("steps", steps, low=1)
        self.step_size = check_float("step_size", budget.eps / self.steps if step_size is None else step_size, low=0.0)
        self.restarts = check_int("restarts", restarts, low=1)

    @property
    def gradient_passes(self) -> int:
        return self.restarts * self.steps + 1

    def _perturb_slice(self, obs: np.ndarray, sl: slice) -> np.ndarray:
        objective, victim = self.objective, self.victim_view()
        with self._frozen:
            x = torch.as_tensor(obs, device=self.device)
            ball = Feasible(self.budget, self.clip_range, x, sl)
            with torch.no_grad():
                state = objective.clean(objective.forward(victim, x), victim, self.rng)
            best = _Best(len(x), x, keep_grad=False)
            # FGSM's point (on the greedy action: the KL's own gradient vanishes at d = 0) is a candidate too
            fgsm = APGD._fgsm_point(self, victim, x, ball)
            with torch.no_grad():
                best.update(objective.score(objective.forward(victim, x + fgsm), state, victim), fgsm)
            small = Budget(self.budget.eps / self.steps, self.budget.norm)
            for _ in range(self.restarts):
                delta = ball.zeros()
                delta[:, sl] = torch.as_tensor(small.sample(self.rng, (len(x), sl.stop - sl.start)), device=x.device)
                ball.project_(delta)
                for i in range(self.steps + 1):
                    delta.requires_grad_(i < self.steps)
                    with torch.set_grad_enabled(i < self.steps):
                        score = objective.score(objective.forward(victim, x + delta), state, victim)
                    best.update(score.detach(), delta.detach())
                    if i == self.steps:
                        break
                    (grad,) = torch.autograd.grad(score.sum(), delta)
                    with torch.no_grad():
                        delta = ball.project_(delta.detach().add_(ball.direction_(grad), alpha=self.step_size))
            return ball.finish(best.delta)
