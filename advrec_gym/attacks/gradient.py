"""White-box gradient attacks on a torch victim: FGSM, (legacy) PGD and critic PGD.

All three run one loop (on the victim's device): from ``d = 0`` (or a random start in the ball),
take ``steps`` steps of ``step_size`` along the sign of the gradient (L-inf) or the normalised
gradient (L2) of an attack score, projecting into the ball and clipping to the observation bounds
after every step (Madry et al. 2018, "Towards deep learning models resistant to adversarial attacks").
The scores (``objective``) are those of :mod:`advrec_gym.attacks.objectives`: ``"action"`` (default:
``-log pi(a* | o + d)`` of the clean greedy action), ``"topk"``, ``"semantic"``, ``"kl"`` (needs
``random_start=True``: its gradient is zero at ``d = 0``), ``"target"``, and ``"critic"`` for :class:`CriticPGD`.

:class:`PGD` is the training-time attack of PGD adversarial training: it stops moving a row once the
attack has succeeded on it (``early_stop``) and its first step is FGSM's, so it is FGSM wherever FGSM
succeeds. For a sampled policy that is the wrong objective and a weak evaluation: evaluate with
:class:`~advrec_gym.attacks.APGD` (``"pgd-topk"``, ``"pgd-semantic"``, ... in ``make_attacker``), which
keeps the best iterate and has no early stop.
Cost: FGSM is one forward+backward pass, PGD-K is K (plus one forward with a random start).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from advrec_gym._validation import check_choice, check_float, check_int
from advrec_gym.attacks.base import Attacker, make_budget
from advrec_gym.attacks.budget import Budget
from advrec_gym.attacks.feasible import Feasible
from advrec_gym.attacks.objectives import FLAT_AT_CLEAN, NEEDS_EMBEDDINGS, Objective, Victim
from advrec_gym.attacks.objectives import OBJECTIVES as ALL_OBJECTIVES
from advrec_gym.attacks.victim import Frozen, item_embeddings_of, policy_device, resolve_policy

#: the objectives of FGSM / PGD / CriticPGD (``"direction"`` needs per-call directions: PA-AD's actor)
OBJECTIVES = tuple(o for o in ALL_OBJECTIVES if o != "direction")


class WhiteBoxAttack(Attacker):
    """What the gradient attackers share: the resolved torch victim, its device, its frozen state, the
    objective, and the item embeddings some objectives need.

    Args:
        victim: an SB3 model or its policy, or any victim with a torch ``gradient_policy`` view.
        objective: an :class:`~advrec_gym.attacks.objectives.Objective` (built by the subclass).
        item_embeddings: (num_items, dim), for ``"semantic"`` / ``"direction"``; ``None``: the bound
            env's catalogue, else the victim's own (an item-embedding policy's, LinUCB's).
        budget, eps, norm, embedding_slice, clip_range, seed: as in :class:`~advrec_gym.attacks.Attacker`.
    """

    white_box = True

    def __init__(
        self,
        victim: Any,
        objective: Objective,
        budget: Budget | None = None,
        *,
        eps: float | None = None,
        norm: str = "inf",
        item_embeddings: Any = None,
        embedding_slice: slice | None = None,
        clip_range: tuple[float, float] | None = (-1.0, 1.0),
        seed: int | None = None,
    ):
        needs = "predict_values" if objective.needs == "values" else "get_distribution"
        self.policy = resolve_policy(victim, type(self).__name__, needs=needs)
        self.objective = objective
        super().__init__(budget, eps=eps, norm=norm, embedding_slice=embedding_slice, clip_range=clip_range, seed=seed)
        self.device = policy_device(self.policy)
        self._frozen = Frozen(self.policy)
        if item_embeddings is not None:  # given: kept when the attacker is bound to an env
            self.item_embeddings, self._embeddings_given = np.asarray(item_embeddings, dtype=np.float32), True
        else:  # the victim's own until bound to an env (whose catalogue is what the recommender sees)
            self.item_embeddings = item_embeddings_of(victim)
        self._victim: Victim | None = None
        self._victim_embeddings: Any = None

    def victim_view(self) -> Victim:
        """The victim as the objectives see it (with the item embeddings where the objective needs them)."""
        emb = self.item_embeddings if self.objective.name in NEEDS_EMBEDDINGS else None
        if self._victim is None or self._victim_embeddings is not emb:
            self._victim, self._victim_embeddings = Victim(self.policy, emb), emb
        return self._victim

    def _obs_dim(self) -> int | None:
        space = getattr(self.policy, "observation_space", None)
        return int(space.shape[0]) if isinstance(space, spaces.Box) and len(space.shape) == 1 else None

    def _check_target(self, target: Any) -> int | None:
        if self.objective.name != "target":
            if target is not None:
                raise ValueError(f"target is only used with objective='target', got objective={self.objective.name!r}.")
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


def _objective(objective: str, target: Any, objectives: tuple[str, ...] = OBJECTIVES, **kwargs: Any) -> Objective:
    check_choice("objective", objective, objectives)
    return Objective(objective, target=target, **kwargs)


class GradientAttack(WhiteBoxAttack):
    """The shared projected-gradient loop; use :class:`FGSM`, :class:`PGD` or :class:`CriticPGD`.

    Args:
        victim: an SB3 model or its policy (``model.policy``, an ``ActorCriticPolicy``), or any victim
            with a torch ``gradient_policy``.
        budget, eps, norm, embedding_slice, clip_range, seed: as in :class:`~advrec_gym.attacks.Attacker`.
        steps: gradient steps.
        step_size: size of each step (L-inf: per coordinate; L2: in norm).
        random_start: start from a uniform draw in the ball instead of ``d = 0``.
        fgsm_start: make the first step (from ``d = 0``) a full FGSM step of size ``eps``; the rest
            are ``step_size``. Not with ``random_start``.
        objective: a name in :data:`OBJECTIVES` (see the module doc) or ``"critic"``.
        target: the promoted item's index, for ``objective="target"``.
        early_stop: stop moving a row once the attack succeeded on it (objectives ``"action"`` and
            ``"target"``, which have a success criterion; ignored for the others).
        k, action_target, eot_samples: the objective's settings (:class:`~advrec_gym.attacks.objectives.Objective`).
        item_embeddings: for ``"semantic"`` (see :class:`WhiteBoxAttack`).
    """

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
        k: int = 10,
        action_target: str = "greedy",
        eot_samples: int = 8,
        item_embeddings: Any = None,
        embedding_slice: slice | None = None,
        clip_range: tuple[float, float] | None = (-1.0, 1.0),
        seed: int | None = None,
    ):
        spec = _objective(objective, target, k=k, action_target=action_target, eot_samples=eot_samples)
        super().__init__(
            victim,
            spec,
            budget,
            eps=eps,
            norm=norm,
            item_embeddings=item_embeddings,
            embedding_slice=embedding_slice,
            clip_range=clip_range,
            seed=seed,
        )
        self.steps = check_int("steps", steps, low=1)
        self.step_size = check_float("step_size", step_size, low=0.0)
        self.random_start = bool(random_start)
        self.fgsm_start = bool(fgsm_start)
        if self.fgsm_start and self.random_start:
            raise ValueError("fgsm_start=True steps from d = 0, so it excludes random_start=True; got both True.")
        self.early_stop = bool(early_stop)
        if objective in FLAT_AT_CLEAN and not self.random_start:
            raise ValueError(
                f"objective={objective!r} needs random_start=True: the KL's gradient is zero at d = 0, so a "
                "start at the clean observation never moves; got random_start=False."
            )
        self.target = self._check_target(target)
        self.objective.target = self.target

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(eps={self.budget.eps}, norm={self.budget.norm!r}, steps={self.steps}, "
            f"objective={self.objective.name!r})"
        )

    # ------------------------------------------------------------------ the loop
    def _perturb_slice(self, obs: np.ndarray, sl: slice) -> np.ndarray:
        objective, victim = self.objective, self.victim_view()
        with self._frozen:
            x = torch.as_tensor(obs, device=self.device)
            ball = Feasible(self.budget, self.clip_range, x, sl)
            delta, state = ball.zeros(), None
            if self.random_start:
                with torch.no_grad():
                    state = objective.clean(objective.forward(victim, x), victim, self.rng)
                delta = ball.sample(self.rng)
            for k in range(self.steps):
                delta.requires_grad_(True)
                out = objective.forward(victim, x + delta)
                if state is None:  # the first forward pass, at d = 0, is the clean one
                    state = objective.clean(out, victim, self.rng)
                score = objective.score(out, state, victim)
                success = objective.success(out, state) if self.early_stop else None
                (grad,) = torch.autograd.grad(score.sum(), delta)
                with torch.no_grad():  # in place: no fresh (n, obs_dim) buffers per step
                    delta = delta.detach()
                    size = self.budget.eps if k == 0 and self.fgsm_start else self.step_size
                    direction = ball.direction_(grad)
                    if success is not None:
                        delta.addcmul_(direction, (~success).to(delta.dtype)[:, None], value=size)
                    else:
                        delta.add_(direction, alpha=size)
                    ball.project_(delta)
            return ball.finish(delta)


class FGSM(GradientAttack):
    """Fast gradient sign method: one step of size ``eps`` (Goodfellow et al. 2015; Huang et al. 2017 for RL).

    Args:
        victim: an SB3 model or its policy (or a victim with a torch ``gradient_policy``).
        budget: the ball (or give ``eps`` and ``norm``).
        objective: ``"action"`` (default), ``"topk"``, ``"semantic"``, ``"critic"``, ``"kl"`` (needs
            ``random_start=True``: R+FGSM) or ``"target"``.
        random_start: start from a uniform draw in the ball (then step ``eps`` and project).
        target: the promoted item, for ``objective="target"``.
        k, action_target, eot_samples, item_embeddings: the objective's settings (see :class:`GradientAttack`).

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
        k: int = 10,
        action_target: str = "greedy",
        eot_samples: int = 8,
        item_embeddings: Any = None,
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
            k=k,
            action_target=action_target,
            eot_samples=eot_samples,
            item_embeddings=item_embeddings,
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
        random_start = objective in FLAT_AT_CLEAN if random_start is None else random_start
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
