"""White-box gradient attacks on a stable-baselines3 policy: FGSM, PGD and critic PGD.

All three run one loop (on the victim's device): from ``d = 0`` (or a random start in the ball),
take ``steps`` steps of ``step_size`` along the sign of the gradient (L-inf) or the normalised
gradient (L2) of an attack score, projecting into the ball and clipping to the observation bounds
after every step (Madry et al. 2018, "Towards deep learning models resistant to adversarial attacks").

Scores the attacker maximises (``objective``):

* ``"action"`` (default): ``-log pi(a* | o + d)``, ``a*`` the clean greedy action: push the recommender
  off what it would have shown. The strongest in a prototype of this design.
* ``"kl"``: ``KL(pi(.|o) || pi(.|o + d))`` (Zhang et al. 2020, SA-PPO). Its gradient is zero at
  ``d = 0``, so it needs ``random_start=True``.
* ``"target"``: ``log pi(target | o + d)``, averaged over slate positions: promote one item.
* :class:`CriticPGD`: ``-V(o + d)``, the victim critic's value (Zhang et al. 2020).

PGD stops moving a row once the attack has succeeded on it (``early_stop``; ``"action"``: the
greedy action changed; ``"target"``: the target became the greedy item) and, without a random start,
its first step is FGSM's (size ``eps``): so it succeeds wherever FGSM does (on a briefly trained
victim, textbook PGD with 2.5 eps / K steps from 0 changed 2% fewer actions than FGSM).
Cost: FGSM is one forward+backward pass, PGD-K is K (plus one forward for ``"kl"`` or a random start).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from advrec_gym._validation import check_choice, check_float, check_int
from advrec_gym.attacks.base import Attacker, make_budget
from advrec_gym.attacks.budget import Budget
from advrec_gym.attacks.victim import (
    Frozen,
    greedy_action,
    is_greedy,
    kl_divergence,
    log_prob_and_changed,
    policy_device,
    resolve_policy,
    target_log_prob,
)

OBJECTIVES = ("action", "kl", "target")


class GradientAttack(Attacker):
    """The shared projected-gradient loop; use :class:`FGSM`, :class:`PGD` or :class:`CriticPGD`.

    Args:
        victim: an SB3 model or its policy (``model.policy``, an ``ActorCriticPolicy``).
        budget, eps, norm, embedding_slice, clip_range, seed: as in :class:`~advrec_gym.attacks.Attacker`.
        steps: gradient steps.
        step_size: size of each step (L-inf: per coordinate; L2: in norm).
        random_start: start from a uniform draw in the ball instead of ``d = 0``.
        fgsm_start: make the first step (from ``d = 0``) a full FGSM step of size ``eps``; the rest
            are ``step_size``. Not with ``random_start``.
        objective: ``"action"``, ``"kl"``, ``"target"`` (see the module doc) or ``"critic"``.
        target: the promoted item's index, for ``objective="target"``.
        early_stop: stop moving a row once the attack succeeded on it (objectives ``"action"`` and
            ``"target"``, which have a success criterion; ignored for the others).
    """

    white_box = True

    def __init__(
        self,
        victim: Any,
        budget: Budget | None = None,
        *,
        eps: float | None = None,
        norm: str = "inf",
        steps: int,
        step_size: float,
        random_start: bool,
        fgsm_start: bool,
        objective: str,
        target: int | None = None,
        early_stop: bool,
        embedding_slice: slice | None = None,
        clip_range: tuple[float, float] | None = (-1.0, 1.0),
        seed: int | None = None,
    ):
        needs = "predict_values" if objective == "critic" else "get_distribution"
        self.policy = resolve_policy(victim, type(self).__name__, needs=needs)
        super().__init__(budget, eps=eps, norm=norm, embedding_slice=embedding_slice, clip_range=clip_range, seed=seed)
        self.device = policy_device(self.policy)
        self._frozen = Frozen(self.policy)
        self.steps = check_int("steps", steps, low=1)
        self.step_size = check_float("step_size", step_size, low=0.0)
        self.random_start = bool(random_start)
        self.fgsm_start = bool(fgsm_start)
        if self.fgsm_start and self.random_start:
            raise ValueError("fgsm_start=True steps from d = 0, so it excludes random_start=True; got both True.")
        self.early_stop = bool(early_stop)
        self.objective = objective
        if objective != "critic":
            check_choice("objective", objective, OBJECTIVES)
        if objective == "kl" and not self.random_start:
            raise ValueError(
                "objective='kl' needs random_start=True: the KL's gradient is zero at d = 0, so a "
                "start at the clean observation never moves; got random_start=False."
            )
        self.target = self._check_target(target)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(eps={self.budget.eps}, norm={self.budget.norm!r}, steps={self.steps}, "
            f"objective={self.objective!r})"
        )

    def _obs_dim(self) -> int | None:
        space = getattr(self.policy, "observation_space", None)
        return int(space.shape[0]) if isinstance(space, spaces.Box) and len(space.shape) == 1 else None

    def _check_target(self, target: Any) -> int | None:
        if self.objective != "target":
            if target is not None:
                raise ValueError(f"target is only used with objective='target', got objective={self.objective!r}.")
            return None
        if target is None:
            raise ValueError("objective='target' needs target=<item index to promote>, got target=None.")
        space = getattr(self.policy, "action_space", None)
        if isinstance(space, spaces.Discrete):
            num_items = int(space.n)
        elif isinstance(space, spaces.MultiDiscrete):
            num_items = int(space.nvec.min())
        else:
            raise TypeError(f"objective='target' needs a Discrete or MultiDiscrete action space, got {space}.")
        return check_int("target", target, low=0, high=num_items - 1)

    # ------------------------------------------------------------------ the loop
    def _perturb_slice(self, obs: np.ndarray, sl: slice) -> np.ndarray:
        policy = self.policy
        with self._frozen:
            x = torch.as_tensor(obs, device=self.device)
            box = self._box(x, sl)
            state: dict[str, Any] = {}
            if self.target is not None:
                state["target"] = torch.full((len(x),), self.target, dtype=torch.int64, device=self.device)
            if self.objective == "kl" or (self.objective == "action" and self.random_start):
                with torch.no_grad():
                    dist = policy.get_distribution(x)
                    state["dist"], state["action"] = dist.distribution, greedy_action(dist)
            # Perturbations are full-width (so o + d is one addition) and stay 0 outside the slice.
            delta = torch.zeros_like(x)
            if self.random_start:
                start = self.budget.sample(self.rng, (len(x), sl.stop - sl.start))
                delta[:, sl] = torch.as_tensor(start, device=self.device)
                self._feasible_(delta, box)
            for k in range(self.steps):
                delta.requires_grad_(True)
                score, success = self._score(x + delta, state)
                (grad,) = torch.autograd.grad(score.sum(), delta)
                with torch.no_grad():  # in place: no fresh (n, obs_dim) buffers per step
                    delta = delta.detach()
                    size = self.budget.eps if k == 0 and self.fgsm_start else self.step_size
                    direction = self._direction_(grad, sl)
                    if success is not None and self.early_stop:
                        delta.addcmul_(direction, (~success).to(delta.dtype)[:, None], value=size)
                    else:
                        delta.add_(direction, alpha=size)
                    self._feasible_(delta, box)
            # Clipping into bounds that hold the clean value only moves a coordinate toward it: this
            # removes float rounding past clip_range and never grows the perturbation.
            clean = x[:, sl]
            perturbed = clean + delta[:, sl]
            if self.clip_range is None:
                return perturbed.cpu().numpy()
            low, high = self._bounds(clean) if box is not None else self.clip_range
            return torch.clamp(perturbed, low, high).cpu().numpy()

    def _box(self, x: torch.Tensor, sl: slice) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Per-coordinate bounds ``[lo, hi]`` (each holds 0) on full-width perturbations where the
        observation bounds can bind within the budget: 0 outside the slice, clip_range minus the
        clean value inside, intersected with the L-inf ball; ``None`` (the usual case, embedding
        coordinates are far from +-1) when no coordinate is within ``eps`` of the bounds."""
        if self.clip_range is None:
            return None
        low, high = self.clip_range
        eps = self.budget.eps
        clean = x[:, sl]
        if clean.amin() >= low + eps and clean.amax() <= high - eps:
            return None
        lo, hi = torch.zeros_like(x), torch.zeros_like(x)
        ball = eps if self.budget.norm == "inf" else math.inf
        torch.clamp(low - clean, -ball, 0.0, out=lo[:, sl])
        torch.clamp(high - clean, 0.0, ball, out=hi[:, sl])
        return lo, hi

    def _score(self, xa, state) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Per-row attack score to maximise at ``xa = o + d``, and whether the attack succeeded there."""
        if self.objective == "critic":
            return -self.policy.predict_values(xa).reshape(-1), None
        dist = self.policy.get_distribution(xa)
        if self.objective == "kl":
            return kl_divergence(state["dist"], dist), None
        if self.objective == "target":
            target = state["target"]
            return target_log_prob(dist, target), is_greedy(dist, target)
        if "action" not in state:  # the first forward pass, at d = 0, is the clean one
            state["action"] = greedy_action(dist).detach()
        log_prob, changed = log_prob_and_changed(dist, state["action"])
        return -log_prob, changed

    def _direction_(self, grad: torch.Tensor, sl: slice) -> torch.Tensor:
        """The step direction, in place, zero outside the slice: sign (L-inf) or unit L2 norm."""
        if sl.start > 0:
            grad[:, : sl.start] = 0.0
        if sl.stop < grad.shape[1]:
            grad[:, sl.stop :] = 0.0
        if self.budget.norm == "inf":
            return grad.sign_()
        return grad.div_(grad.norm(dim=1, keepdim=True).clamp_(min=1e-12))

    def _feasible_(self, delta: torch.Tensor, box) -> torch.Tensor:
        """In place: into the box (which holds 0) or the L-inf ball, then (L2) scaled into the ball."""
        eps = self.budget.eps
        if box is not None:
            delta.clamp_(*box)
        elif self.budget.norm == "inf":
            delta.clamp_(-eps, eps)
        if self.budget.norm == "2":
            delta.mul_(eps / delta.norm(dim=1, keepdim=True).clamp_(min=eps))
        return delta


class FGSM(GradientAttack):
    """Fast gradient sign method: one step of size ``eps`` (Goodfellow et al. 2015; Huang et al. 2017 for RL).

    Args:
        victim: an SB3 model or its policy.
        budget: the ball (or give ``eps`` and ``norm``).
        objective: ``"action"`` (default), ``"kl"`` (needs ``random_start=True``: R+FGSM) or ``"target"``.
        random_start: start from a uniform draw in the ball (then step ``eps`` and project).
        target: the promoted item, for ``objective="target"``.

    Example:
        >>> fgsm = FGSM(model, eps=0.01, norm="inf")              # doctest: +SKIP
        >>> perturbed = fgsm.perturb(obs_batch)                    # doctest: +SKIP
    """

    name = "fgsm"

    def __init__(
        self,
        victim: Any,
        budget: Budget | None = None,
        *,
        eps: float | None = None,
        norm: str = "inf",
        objective: str = "action",
        random_start: bool = False,
        target: int | None = None,
        embedding_slice: slice | None = None,
        clip_range: tuple[float, float] | None = (-1.0, 1.0),
        seed: int | None = None,
    ):
        budget = make_budget(budget, eps, norm)
        super().__init__(
            victim,
            budget,
            steps=1,
            step_size=budget.eps,
            random_start=random_start,
            fgsm_start=False,
            objective=objective,
            target=target,
            early_stop=False,
            embedding_slice=embedding_slice,
            clip_range=clip_range,
            seed=seed,
        )


class PGD(GradientAttack):
    """Projected gradient descent, K steps (Madry et al. 2018).

    Args:
        victim: an SB3 model or its policy.
        budget: the ball (or give ``eps`` and ``norm``).
        steps: K (default 10).
        step_size: default ``2.5 * eps / steps`` (so the iterates can cross the ball).
        random_start: default ``True`` for ``objective="kl"`` (which requires it), else ``False``.
        fgsm_start: default ``not random_start``: the first step from ``d = 0`` is FGSM's (size ``eps``),
            so PGD's iterates include FGSM's perturbation and, keeping the best, it changes the action
            wherever FGSM does; ``False`` gives textbook PGD (every step ``step_size``).
        objective: ``"action"`` (default), ``"kl"`` or ``"target"`` (see the module doc).
        target: the promoted item, for ``objective="target"``.
        early_stop: stop moving a row once its greedy action changed (``"action"``) or the target
            became its greedy item (``"target"``); default ``True``.

    Example:
        >>> pgd = PGD(model, Budget(0.01, "inf"), steps=10, seed=0)   # doctest: +SKIP
        >>> perturbed = pgd.perturb(obs_batch)                         # doctest: +SKIP
    """

    name = "pgd"

    def __init__(
        self,
        victim: Any,
        budget: Budget | None = None,
        *,
        eps: float | None = None,
        norm: str = "inf",
        steps: int = 10,
        step_size: float | None = None,
        random_start: bool | None = None,
        fgsm_start: bool | None = None,
        objective: str = "action",
        target: int | None = None,
        early_stop: bool = True,
        embedding_slice: slice | None = None,
        clip_range: tuple[float, float] | None = (-1.0, 1.0),
        seed: int | None = None,
    ):
        budget = make_budget(budget, eps, norm)
        steps = check_int("steps", steps, low=1)
        if step_size is None:
            step_size = 2.5 * budget.eps / steps
        random_start = objective == "kl" if random_start is None else random_start
        super().__init__(
            victim,
            budget,
            steps=steps,
            step_size=step_size,
            random_start=random_start,
            fgsm_start=not random_start if fgsm_start is None else fgsm_start,
            objective=objective,
            target=target,
            early_stop=early_stop,
            embedding_slice=embedding_slice,
            clip_range=clip_range,
            seed=seed,
        )


class CriticPGD(GradientAttack):
    """PGD that minimises the victim critic's value ``V(o + d)`` (needs ``policy.predict_values``).

    Args: as :class:`PGD`, without ``objective``, ``target`` and ``early_stop`` (a value has no
    success criterion: every row takes all ``steps``).

    Example:
        >>> critic = CriticPGD(model, eps=0.01, steps=10)    # doctest: +SKIP
        >>> perturbed = critic.perturb(obs_batch)             # doctest: +SKIP
    """

    name = "critic"

    def __init__(
        self,
        victim: Any,
        budget: Budget | None = None,
        *,
        eps: float | None = None,
        norm: str = "inf",
        steps: int = 10,
        step_size: float | None = None,
        random_start: bool = False,
        fgsm_start: bool | None = None,
        embedding_slice: slice | None = None,
        clip_range: tuple[float, float] | None = (-1.0, 1.0),
        seed: int | None = None,
    ):
        budget = make_budget(budget, eps, norm)
        steps = check_int("steps", steps, low=1)
        if step_size is None:
            step_size = 2.5 * budget.eps / steps
        super().__init__(
            victim,
            budget,
            steps=steps,
            step_size=step_size,
            random_start=random_start,
            fgsm_start=not random_start if fgsm_start is None else fgsm_start,
            objective="critic",
            early_stop=False,
            embedding_slice=embedding_slice,
            clip_range=clip_range,
            seed=seed,
        )
