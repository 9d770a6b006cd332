"""SA-PPO's smoothness regulariser: keep the policy's action distribution stable inside the budget.

Zhang et al. 2020, "Robust Deep Reinforcement Learning against Adversarial Perturbations on State
Observations" (SA-PPO): add ``kappa * KL(pi(.|o) || pi(.|o + d))`` to PPO's loss, with ``d`` the
perturbation in the budget that (approximately) maximises that KL, found by a few PGD steps from a
random start (the KL's gradient is zero at ``d = 0``).

Installed on an SB3 PPO model without changing SB3: the policy's ``evaluate_actions`` (called once per
minibatch by ``PPO.train``) remembers the minibatch's observations, and the optimizer's ``step`` adds
the regulariser's gradient (clipped with PPO's ``max_grad_norm`` again) before stepping.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th

from advrec_gym._validation import check_float, check_int
from advrec_gym.attacks import PGD, Budget
from advrec_gym.attacks.victim import kl_divergence


class SmoothnessRegularizer:
    """``kappa * KL(pi(.|o) || pi(.|o + d*))`` added to a PPO recommender's loss.

    Args:
        kappa: the regulariser's weight (>= 0; 0 adds nothing).
        budget: the ball of ``d``.
        embedding_slice: the perturbed coordinates (``env.unwrapped.embedding_slice``).
        steps: PGD steps of the inner maximisation.
        seed: seeds the PGD random starts.

    Example:
        >>> SmoothnessRegularizer(0.1, Budget(0.02, "inf"), slice(0, 1152)).install(model)   # doctest: +SKIP
    """

    def __init__(
        self, kappa: float, budget: Budget, embedding_slice: slice, *, steps: int = 3, seed: int | None = None
    ):
        self.kappa = check_float("sa_kappa", kappa, low=0.0)
        self.budget = budget
        self.embedding_slice = embedding_slice
        self.steps = check_int("sa_steps", steps, low=1)
        self.seed = seed
        self.last_kl = float("nan")
        self._obs: th.Tensor | None = None
        self._attack: PGD | None = None

    def install(self, model: Any) -> SmoothnessRegularizer:
        """Hook into ``model`` (an SB3 PPO) so that every minibatch update includes the regulariser."""
        policy = model.policy
        self._attack = PGD(
            policy, self.budget, steps=self.steps, objective="kl", embedding_slice=self.embedding_slice, seed=self.seed
        )
        evaluate_actions, step = policy.evaluate_actions, policy.optimizer.step
        max_grad_norm = model.max_grad_norm

        def remembering_evaluate_actions(obs, actions):
            self._obs = obs
            return evaluate_actions(obs, actions)

        def regularised_step(*args, **kwargs):
            if self._obs is not None and self.kappa > 0.0 and self.budget.eps > 0.0:
                kl = self.loss(policy, self._obs)
                (self.kappa * kl).backward()
                th.nn.utils.clip_grad_norm_(policy.parameters(), max_grad_norm)
                self.last_kl = float(kl.detach())
            self._obs = None
            return step(*args, **kwargs)

        policy.evaluate_actions = remembering_evaluate_actions
        policy.optimizer.step = regularised_step
        return self

    def reseed(self, seed: Any) -> None:
        """Restart the PGD random starts' generator (the trainer does at every phase)."""
        if self._attack is not None:
            self._attack.reseed(seed)

    def loss(self, policy: Any, obs: th.Tensor) -> th.Tensor:
        """Mean ``KL(pi(.|o) || pi(.|o + d*))`` over the batch, differentiable in the policy's parameters."""
        assert self._attack is not None, "install() first"
        perturbed = self._attack.perturb(obs.detach().cpu().numpy())
        clean = policy.get_distribution(obs).distribution
        attacked = policy.get_distribution(th.as_tensor(np.asarray(perturbed), device=obs.device))
        return kl_divergence(clean, attacked).mean()
