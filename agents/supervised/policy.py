"""The click model as an AdvRec-v0 recommender: show the item with the highest predicted click logit.

The item tower runs once over the catalogue (:meth:`ClickModelPolicy.refresh` after the model
changes); each step then costs one user-tower pass and a (batch, num_items) product, so the policy
is as cheap as the RL item-embedding policy and, like it, scores new items from their text alone.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from advrec_gym._validation import check_float, check_int
from agents.supervised.model import TwoTowerClickModel


class ClickModelPolicy:
    """A recommender with SB3's ``predict`` signature over a click model.

    ``deterministic=True`` shows the top-scoring item(s) for each observation; otherwise items are
    drawn from ``softmax(logit / temperature)`` (Gumbel top-k for a slate, without repeats).
    :meth:`action_logits` is differentiable in the observation, and :attr:`policy` is a torch module
    with SB3's ``get_distribution(obs)``, so the env's white-box observation attacks
    (``advrec_gym.attacks.FGSM(policy, ...)``, ``PGD``) target it as they target a PPO policy.

    Args:
        model: the click model (built over the env's catalogue texts).
        slate_size: items per step.
        temperature: softness of the sampled (non-deterministic) choice, in logit units.
        seed: seeds the sampling.
    """

    #: attacks may read its scores and differentiate its action distribution (through :attr:`policy`); no critic
    attack_surface = frozenset({"scores", "distribution"})

    def __init__(
        self, model: TwoTowerClickModel, *, slate_size: int = 1, temperature: float = 1.0, seed: int | None = None
    ):
        self.model = model
        self.slate_size = check_int("slate_size", slate_size, low=1, high=model.num_items)
        self.temperature = check_float("temperature", temperature, low=0.0, low_open=True)
        self.rng = np.random.default_rng(seed)
        self.policy = _TorchPolicy(self)
        self.refresh()

    def refresh(self) -> None:
        """Recompute the catalogue's item vectors (call after the model's weights change)."""
        self.item_vectors = self.model.catalogue_vectors()

    def action_logits(self, observation: torch.Tensor) -> torch.Tensor:
        """Predicted click logits of every item, (batch, num_items), differentiable in ``observation``."""
        was_training = self.model.training
        self.model.eval()
        logits = self.model.user_tower(observation) @ self.item_vectors.T + self.model.bias
        self.model.train(was_training)
        return logits

    def probabilities(self, observation) -> np.ndarray:
        """``softmax(logit / temperature)`` over the catalogue, (batch, num_items): the sampled policy."""
        obs = self._obs(observation).reshape(-1, self.model.obs_dim)
        with torch.no_grad():
            logits = self.action_logits(torch.as_tensor(obs, device=self.model.device)) / self.temperature
        return torch.softmax(logits.double(), dim=1).cpu().numpy()

    def action_scores(self, observation) -> np.ndarray:
        """``logit / temperature`` (batch, num_items): the softmax the sampled policy draws from
        (advrec_gym.attacks.ScoredPolicy, for the query-only attack)."""
        obs = self._obs(observation).reshape(-1, self.model.obs_dim)
        with torch.no_grad():
            logits = self.action_logits(torch.as_tensor(obs, device=self.model.device)) / self.temperature
        return logits.cpu().numpy().astype(np.float32)

    def _obs(self, observation) -> np.ndarray:
        obs = np.asarray(observation, dtype=np.float32)
        if obs.shape[-1] != self.model.obs_dim:
            raise ValueError(f"observation must have {self.model.obs_dim} features, got shape {obs.shape}.")
        return obs

    def predict(self, observation, state=None, episode_start=None, deterministic: bool = False):
        obs = self._obs(observation)
        single = obs.ndim == 1
        with torch.no_grad():
            logits = self.action_logits(torch.as_tensor(obs.reshape(-1, obs.shape[-1]), device=self.model.device))
        scores = logits.cpu().numpy().astype(np.float64)
        if not deterministic:
            scores = scores / self.temperature + self.rng.gumbel(size=scores.shape)
        k = self.slate_size
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        actions = np.take_along_axis(top, order, axis=1).astype(np.int64)
        actions = actions[:, 0] if k == 1 else actions
        return (actions[0] if single else actions), state


class _TorchPolicy(nn.Module):
    """What white-box attacks see: ``get_distribution(obs)``, a categorical over the catalogue's items."""

    def __init__(self, owner: ClickModelPolicy):
        super().__init__()
        self.model = owner.model
        self._owner = [owner]  # a list, so the owner is not registered as a submodule

    def get_distribution(self, obs: torch.Tensor):
        from stable_baselines3.common.distributions import CategoricalDistribution

        owner = self._owner[0]
        logits = self.model.user_tower(obs) @ owner.item_vectors.T + self.model.bias
        return CategoricalDistribution(self.model.num_items).proba_distribution(logits / owner.temperature)
