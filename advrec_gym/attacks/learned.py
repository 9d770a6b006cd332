"""The learned adversary: a policy trained on :class:`~advrec_gym.attacks.AttackerEnv`, used as an attacker."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from advrec_gym.attacks.base import Attacker
from advrec_gym.attacks.budget import Budget
from advrec_gym.attacks.victim import action_probabilities, torch_policy


class LearnedAdversary(Attacker):
    """Perturb with a trained attacker policy: its action on the clean observation, a direction in
    [-1, 1]^d, is mapped into the ball by :meth:`Budget.from_unit` (as in ``AttackerEnv``).

    Black-box with respect to the victim: it only needs the victim's action probabilities when the
    adversary was trained with ``include_victim_probs=True`` (detected from its observation size).
    This is the "optimal attack" of ATLA / SA-RL (Zhang et al. 2021) against one fixed victim.

    Args:
        adversary: the attacker, e.g. ``PPO`` trained on ``AttackerEnv``; any object with SB3's
            ``predict(obs, deterministic=...)``.
        budget: the ball (use the one the adversary was trained with), or ``eps`` and ``norm``.
        victim: the victim, needed only if the adversary observes its action probabilities.
        deterministic: use the adversary's mean action (default) rather than a sample.
        embedding_slice, clip_range, seed: as in :class:`~advrec_gym.attacks.Attacker`.

    Example:
        >>> adversary = PPO("MlpPolicy", SB3VecEnvAdapter(AttackerVectorEnv(victim, eps=0.01))).learn(50_000)  # doctest: +SKIP
        >>> attacker = LearnedAdversary(adversary, eps=0.01)                                                # doctest: +SKIP
    """

    name = "learned"

    def __init__(
        self,
        adversary: Any,
        budget: Budget | None = None,
        *,
        eps: float | None = None,
        norm: str = "inf",
        victim: Any = None,
        deterministic: bool = True,
        embedding_slice: slice | None = None,
        clip_range: tuple[float, float] | None = (-1.0, 1.0),
        seed: int | None = None,
    ):
        if not callable(getattr(adversary, "predict", None)):
            raise TypeError(
                "adversary must have SB3's predict(obs, deterministic=...) (e.g. a PPO model trained on "
                f"AttackerEnv), got adversary of type {type(adversary).__name__}."
            )
        self.adversary = adversary
        self.victim_policy = None
        if victim is not None:
            self.victim_policy = torch_policy(victim)
            if self.victim_policy is None:
                raise TypeError(
                    "victim is only needed for an adversary that observes the victim's action probabilities, "
                    f"and must then be an SB3 model or policy, got victim of type {type(victim).__name__}."
                )
        self.deterministic = bool(deterministic)
        super().__init__(budget, eps=eps, norm=norm, embedding_slice=embedding_slice, clip_range=clip_range, seed=seed)

    def _adversary_dims(self) -> tuple[int | None, int | None]:
        obs_space = getattr(self.adversary, "observation_space", None)
        act_space = getattr(self.adversary, "action_space", None)
        obs_dim = obs_space.shape[0] if isinstance(obs_space, spaces.Box) else None
        act_dim = act_space.shape[0] if isinstance(act_space, spaces.Box) else None
        return obs_dim, act_dim

    def _delta(self, obs: np.ndarray, sl: slice) -> np.ndarray:
        adv_obs_dim, act_dim = self._adversary_dims()
        d = sl.stop - sl.start
        if act_dim is not None and act_dim != d:
            raise ValueError(f"The adversary acts in {act_dim} dimensions but the embedding slice has {d}.")
        inputs = obs
        if adv_obs_dim is not None and adv_obs_dim != obs.shape[1]:
            if self.victim_policy is None:
                raise ValueError(
                    f"The adversary observes {adv_obs_dim} numbers but observations have {obs.shape[1]}: "
                    "if it was trained with include_victim_probs=True, pass victim=<the victim>."
                )
            inputs = np.concatenate([obs, action_probabilities(self.victim_policy, obs)], axis=1)
            if inputs.shape[1] != adv_obs_dim:
                raise ValueError(
                    f"The adversary observes {adv_obs_dim} numbers, but observation + victim probabilities "
                    f"have {inputs.shape[1]}."
                )
        direction, _ = self.adversary.predict(inputs, deterministic=self.deterministic)
        direction = np.clip(np.asarray(direction, dtype=np.float32).reshape(len(obs), -1), -1.0, 1.0)
        return self.budget.from_unit(direction)
