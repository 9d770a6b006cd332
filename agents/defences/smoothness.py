"""SA-PPO's smoothness regulariser: keep the policy's action distribution stable inside the budget.

Zhang et al. 2020, "Robust Deep Reinforcement Learning against Adversarial Perturbations on State
Observations" (SA-PPO): add ``kappa * KL(pi(.|o) || pi(.|o + d))`` to PPO's loss, with ``d`` the
perturbation in the budget that (approximately) maximises that KL, found by a few PGD steps from a
random start (the KL's gradient is zero at ``d = 0``).

:class:`SAPPO` is stable-baselines3's PPO with that one term added to each minibatch's loss. SB3's
``PPO.train`` computes the loss inside one method with no hook, so :meth:`SAPPO.train` is that method
(stable-baselines3 2.x) with the regulariser added before the backward pass; everything else is
SB3's, and ``kappa = 0`` trains exactly as PPO does (tested).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.utils import explained_variance
from torch.nn import functional as F

from advrec_gym._validation import check_float, check_int
from advrec_gym.attacks import PGD, Budget
from advrec_gym.attacks.victim import kl_divergence


class SAPPO(PPO):
    """PPO whose loss adds ``sa_kappa * KL(pi(.|o) || pi(.|o + d*))`` (SA-PPO).

    Args:
        policy, env: as for :class:`stable_baselines3.PPO`.
        sa_kappa: the regulariser's weight (>= 0; 0 is plain PPO).
        sa_budget: the ball of ``d``.
        sa_embedding_slice: the perturbed coordinates (``env.unwrapped.embedding_slice``).
        sa_steps: PGD steps of the inner maximisation.
        sa_seed: seeds the PGD random starts (see :meth:`reseed_regularizer`).
        **kwargs: PPO's keyword arguments.

    The mean KL of each update is logged as ``train/sa_kl``.

    Example:
        >>> SAPPO("MlpPolicy", env, sa_kappa=0.1, sa_budget=Budget(0.02, "inf"), sa_embedding_slice=slice(0, 1152))  # doctest: +SKIP
    """

    def __init__(
        self,
        policy: Any,
        env: Any,
        *,
        sa_kappa: float,
        sa_budget: Budget,
        sa_embedding_slice: slice,
        sa_steps: int = 3,
        sa_seed: int | None = None,
        **kwargs: Any,
    ):
        self.sa_kappa = check_float("sa_kappa", sa_kappa, low=0.0)
        if not isinstance(sa_budget, Budget):
            raise TypeError(f"sa_budget must be an advrec_gym.attacks.Budget, got {type(sa_budget).__name__}.")
        if not isinstance(sa_embedding_slice, slice):
            raise TypeError(f"sa_embedding_slice must be a slice, got {sa_embedding_slice!r}.")
        self.sa_budget = sa_budget
        self.sa_embedding_slice = sa_embedding_slice
        self.sa_steps = check_int("sa_steps", sa_steps, low=1)
        self.last_sa_kl = float("nan")
        super().__init__(policy, env, **kwargs)
        self._sa_attack = PGD(
            self.policy,
            sa_budget,
            steps=self.sa_steps,
            objective="kl",
            embedding_slice=sa_embedding_slice,
            seed=sa_seed,
        )

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_sa_attack"]  # it holds the policy, saved already

    def reseed_regularizer(self, seed: Any) -> None:
        """Restart the PGD random starts' generator (the trainer does at every phase)."""
        self._sa_attack.reseed(seed)

    def smoothness_loss(self, obs: th.Tensor) -> th.Tensor:
        """Mean ``KL(pi(.|o) || pi(.|o + d*))`` over the batch, differentiable in the policy's parameters."""
        perturbed = self._sa_attack.perturb(obs.detach().cpu().numpy())
        clean = self.policy.get_distribution(obs).distribution
        attacked = self.policy.get_distribution(th.as_tensor(np.asarray(perturbed), device=obs.device))
        return kl_divergence(clean, attacked).mean()

    @property
    def _regularised(self) -> bool:
        return self.sa_kappa > 0.0 and self.sa_budget.eps > 0.0

    def train(self) -> None:
        """SB3's ``PPO.train`` (stable-baselines3 2.x), plus ``sa_kappa * smoothness_loss`` in each minibatch's loss."""
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        clip_range = self.clip_range(self._current_progress_remaining)  # type: ignore[operator]
        if self.clip_range_vf is not None:
            clip_range_vf = self.clip_range_vf(self._current_progress_remaining)  # type: ignore[operator]

        entropy_losses, pg_losses, value_losses, clip_fractions, sa_kls = [], [], [], [], []
        continue_training = True
        for epoch in range(self.n_epochs):
            approx_kl_divs = []
            for rollout_data in self.rollout_buffer.get(self.batch_size):
                actions = rollout_data.actions
                if isinstance(self.action_space, spaces.Discrete):
                    actions = rollout_data.actions.long().flatten()

                values, log_prob, entropy = self.policy.evaluate_actions(rollout_data.observations, actions)
                values = values.flatten()
                advantages = rollout_data.advantages
                if self.normalize_advantage and len(advantages) > 1:
                    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)

                ratio = th.exp(log_prob - rollout_data.old_log_prob)
                policy_loss_1 = advantages * ratio
                policy_loss_2 = advantages * th.clamp(ratio, 1 - clip_range, 1 + clip_range)
                policy_loss = -th.min(policy_loss_1, policy_loss_2).mean()
                pg_losses.append(policy_loss.item())
                clip_fractions.append(th.mean((th.abs(ratio - 1) > clip_range).float()).item())

                if self.clip_range_vf is None:
                    values_pred = values
                else:
                    values_pred = rollout_data.old_values + th.clamp(
                        values - rollout_data.old_values, -clip_range_vf, clip_range_vf
                    )
                value_loss = F.mse_loss(rollout_data.returns, values_pred)
                value_losses.append(value_loss.item())

                entropy_loss = -th.mean(-log_prob) if entropy is None else -th.mean(entropy)
                entropy_losses.append(entropy_loss.item())

                loss = policy_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss

                with th.no_grad():
                    log_ratio = log_prob - rollout_data.old_log_prob
                    approx_kl_div = th.mean((th.exp(log_ratio) - 1) - log_ratio).cpu().numpy()
                    approx_kl_divs.append(approx_kl_div)

                if self.target_kl is not None and approx_kl_div > 1.5 * self.target_kl:
                    continue_training = False
                    if self.verbose >= 1:
                        print(f"Early stopping at step {epoch} due to reaching max kl: {approx_kl_div:.2f}")
                    break

                # SA-PPO: the smoothness regulariser joins the loss (the one line PPO does not have)
                if self._regularised:
                    sa_kl = self.smoothness_loss(rollout_data.observations)
                    loss = loss + self.sa_kappa * sa_kl
                    sa_kls.append(float(sa_kl.detach()))

                self.policy.optimizer.zero_grad()
                loss.backward()
                th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
                self.policy.optimizer.step()

            self._n_updates += 1
            if not continue_training:
                break

        explained_var = explained_variance(self.rollout_buffer.values.flatten(), self.rollout_buffer.returns.flatten())
        if sa_kls:
            self.last_sa_kl = float(np.mean(sa_kls))
            self.logger.record("train/sa_kl", self.last_sa_kl)
        self.logger.record("train/entropy_loss", np.mean(entropy_losses))
        self.logger.record("train/policy_gradient_loss", np.mean(pg_losses))
        self.logger.record("train/value_loss", np.mean(value_losses))
        self.logger.record("train/approx_kl", np.mean(approx_kl_divs))
        self.logger.record("train/clip_fraction", np.mean(clip_fractions))
        self.logger.record("train/loss", loss.item())
        self.logger.record("train/explained_variance", explained_var)
        if hasattr(self.policy, "log_std"):
            self.logger.record("train/std", th.exp(self.policy.log_std).mean().item())
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/clip_range", clip_range)
        if self.clip_range_vf is not None:
            self.logger.record("train/clip_range_vf", clip_range_vf)
