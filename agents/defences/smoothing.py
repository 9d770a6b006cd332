"""Test-time randomized smoothing of a trained recommender (policy smoothing).

Kumar, Levine and Feizi 2022, "Policy Smoothing for Provably Robust Reinforcement Learning": the
deployed policy acts on ``o + sigma * z`` (``z`` standard normal, here on the embedding slice only)
instead of ``o``. Its action distribution is the smoothed one,
``pi_sigma(a | o) = E_z pi(a | o + sigma z)``, a Lipschitz function of ``o`` whatever ``pi`` is, so a
perturbation in a small ball can move it only so far. Nothing is retrained: any SB3 actor-critic is
wrapped as it is (a policy trained with noise, defence ``"noise"``, is the natural partner).

:class:`SmoothedPolicy` is a torch module with the SB3 policy interface the attacks read
(``get_distribution``, ``predict_values``): each call estimates ``pi_sigma`` from ``copies`` fresh
noise draws (the mean of the copies' probabilities) and the critic by the mean of their values, from
its own seeded ``torch.Generator``. A white-box attack therefore differentiates through the very
estimate the policy acts on, with fresh noise at every step: expectation over transformation
(Athalye et al. 2018), the adaptive attack a randomized defence must face. Sampling an action from the
estimate is sampling from ``pi_sigma`` exactly (a mixture of the copies), whatever ``copies`` is; more
copies only make the attacker's gradient less noisy.

:func:`smoothed` wraps a trained SB3 model into a model-like object (``.policy``, ``predict``), so the
evaluation and the attack suite (:func:`agents.training.report.evaluate_recommender`,
:func:`advrec_gym.attacks.evaluate_attack`, ``make_attacker``) take it unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from advrec_gym._validation import check_float, check_int
from advrec_gym.attacks.victim import VictimActor, categorical_parts, policy_device, torch_policy


class SmoothedPolicy(torch.nn.Module):
    """``policy`` smoothed by Gaussian noise of scale ``sigma`` on the coordinates ``embedding_slice``.

    Args:
        policy: an SB3 actor-critic policy with a categorical action distribution (the item-embedding
            policy, ``MlpPolicy``); it is used as it is, never changed.
        sigma: the noise's standard deviation per coordinate, in the observation's raw units (>= 0;
            0 is ``policy`` itself, with no noise drawn).
        embedding_slice: the noised coordinates (``env.unwrapped.embedding_slice``).
        copies: noise draws per call (>= 1).
        seed: seeds the noise generator.
    """

    def __init__(
        self, policy: torch.nn.Module, sigma: float, embedding_slice: slice, *, copies: int = 8, seed: int = 0
    ):
        super().__init__()
        if not hasattr(policy, "get_distribution"):
            raise TypeError(
                f"policy must be an SB3 policy (with get_distribution), got policy of type {type(policy).__name__}."
            )
        if not isinstance(embedding_slice, slice):
            raise TypeError(f"embedding_slice must be a slice, got {embedding_slice!r}.")
        self.policy = policy
        self.sigma = check_float("sigma", sigma, low=0.0)
        self.copies = check_int("copies", copies, low=1)
        self.embedding_slice = embedding_slice
        self.generator = torch.Generator(device=policy_device(policy))
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Restart the noise stream from ``seed`` (same seed and same calls: the same noise)."""
        self.generator.manual_seed(check_int("seed", seed, low=0))

    @property
    def device(self) -> torch.device:
        return policy_device(self.policy)

    @property
    def observation_space(self):
        return self.policy.observation_space

    @property
    def action_space(self):
        return self.policy.action_space

    @property
    def action_net(self) -> torch.nn.Module:
        """The wrapped policy's action head (where the item-embedding policy keeps the catalogue)."""
        return self.policy.action_net

    def _noisy(self, obs: torch.Tensor) -> torch.Tensor:
        """``copies`` noised versions of the batch, stacked copy-major: (copies * n, obs_dim)."""
        obs = torch.as_tensor(obs, dtype=torch.float32, device=self.device)
        if obs.ndim != 2:
            raise ValueError(
                f"SmoothedPolicy takes a batch of observations (n, obs_dim), got shape {tuple(obs.shape)}."
            )
        n, dim = obs.shape
        lo, hi, _ = self.embedding_slice.indices(dim)
        noise = torch.zeros((self.copies, n, dim), dtype=obs.dtype, device=obs.device)
        noise[:, :, lo:hi] = torch.randn(
            (self.copies, n, hi - lo), generator=self.generator, dtype=obs.dtype, device=obs.device
        )
        return (obs.unsqueeze(0) + self.sigma * noise).reshape(self.copies * n, dim)

    def get_distribution(self, obs: torch.Tensor):
        """The SB3 distribution of the smoothed policy's estimate at ``obs`` (differentiable in ``obs``)."""
        if self.sigma == 0.0:
            return self.policy.get_distribution(obs)
        n = len(obs)
        parts = categorical_parts(self.policy.get_distribution(self._noisy(obs)))
        # log of the mean of the copies' probabilities, per slate position
        logits = [torch.logsumexp(p.logits.reshape(self.copies, n, -1), dim=0) - math.log(self.copies) for p in parts]
        return self.policy.action_dist.proba_distribution(action_logits=torch.cat(logits, dim=1))

    def predict_values(self, obs: torch.Tensor) -> torch.Tensor:
        """The critic's value averaged over the same kind of noise draws, (n, 1)."""
        if self.sigma == 0.0:
            return self.policy.predict_values(obs)
        values = self.policy.predict_values(self._noisy(obs))
        return values.reshape(self.copies, len(obs), -1).mean(dim=0)

    def extra_repr(self) -> str:
        return f"sigma={self.sigma:g}, copies={self.copies}, embedding_slice={self.embedding_slice}"


class SmoothedRecommender:
    """A trained SB3 model acting through its :class:`SmoothedPolicy` (what :func:`smoothed` returns).

    Attributes:
        policy: the :class:`SmoothedPolicy` (what the attacks and the evaluation read).
        model: the wrapped SB3 model, unchanged.
    """

    def __init__(self, model: Any, policy: SmoothedPolicy, seed: int):
        self.model = model
        self.policy = policy
        self.observation_space, self.action_space = policy.observation_space, policy.action_space
        self.device = policy.device
        self._actor = VictimActor(policy)
        self._rng = np.random.default_rng(seed)

    def predict(
        self, observation: np.ndarray, state: Any = None, episode_start: Any = None, deterministic: bool = False
    ):
        """SB3's ``predict``: actions of the smoothed policy for a batch (sampled from its own seeded generator)."""
        obs = np.asarray(observation, dtype=np.float32)
        single = obs.ndim == 1
        actions = self._actor.act(obs[None] if single else obs, self._rng, deterministic)
        return (actions[0] if single else actions), state

    def __repr__(self) -> str:
        return f"SmoothedRecommender({type(self.model).__name__}, {self.policy.extra_repr()})"


def smoothed(
    model: Any, sigma: float, embedding_slice: slice, *, copies: int = 8, seed: int = 0
) -> SmoothedRecommender:
    """``model`` (an SB3 model or policy) deployed with test-time Gaussian smoothing (see the module docs).

    Raises:
        TypeError: ``model`` has no torch policy.
        ValueError: a negative ``sigma``, ``copies`` < 1, a negative ``seed``.
    """
    policy = torch_policy(model)
    if policy is None:
        raise TypeError(
            f"smoothed(...) needs a stable-baselines3 model or policy, got model of type {type(model).__name__}."
        )
    return SmoothedRecommender(model, SmoothedPolicy(policy, sigma, embedding_slice, copies=copies, seed=seed), seed)
