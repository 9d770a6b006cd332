"""Build the two players and their environments from a :class:`~agents.training.config.TrainConfig`.

The recommender is SB3 PPO on the configured env (AdvRec-v1 by default) (through :class:`~advrec_gym.sb3_adapter.SB3VecEnvAdapter`);
the adversary is SB3 PPO with a Gaussian ``MlpPolicy`` on
:class:`~advrec_gym.attacks.AttackerVectorEnv` against the live recommender (frozen while the
adversary trains, since only one player learns at a time).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3 import PPO
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.vec_env import VecMonitor

import advrec_gym  # noqa: F401  (registers the envs)
from advrec_gym.attacks import AttackerVectorEnv, Budget
from advrec_gym.sb3_adapter import SB3VecEnvAdapter
from agents.defences import SAPPO, CleanObservationCopy
from agents.policies import policy_class_and_kwargs
from agents.training.config import TrainConfig


def silent_logger() -> Logger:
    """An SB3 logger that records (callbacks read ``name_to_value``) and writes nothing.

    A model without one gets SB3's default on every ``learn()``, which creates an empty
    ``SB3-<date>`` folder under the temp directory each time; every model built here has this one.
    """
    return Logger(folder=None, output_formats=[])


def budget_of(config: TrainConfig) -> Budget:
    """The attack budget of a run (raw units of the embedding slice)."""
    return Budget(config.eps, config.norm)


def recommender_view(
    config: TrainConfig, num_envs: int | None = None, *, evaluation: bool = False
) -> gym.vector.VectorEnv:
    """The env as the recommender sees it: the native vector env, with a clean copy appended for a clean critic.

    ``evaluation=True`` gives the evaluation users (MovieLens: the held-out users; see ``config.eval_env_kwargs``).
    """
    venv = gym.make_vec(
        config.env_id,
        num_envs=config.num_envs if num_envs is None else num_envs,
        vectorization_mode="vector_entry_point",
        **(config.eval_env_kwargs if evaluation else config.env_kwargs),
    )
    return CleanObservationCopy(venv) if config.clean_critic else venv


def sb3_env(venv: gym.vector.VectorEnv) -> VecMonitor:
    """A Gymnasium vector env as an SB3 ``VecEnv`` that reports episode returns (``VecMonitor``)."""
    return VecMonitor(SB3VecEnvAdapter(venv))


def make_recommender(config: TrainConfig, env: Any, device: th.device | str) -> PPO:
    """The recommender: PPO with the configured policy on ``env`` (an SB3 VecEnv of the recommender's view).

    Defence ``"sa"`` gets :class:`~agents.defences.SAPPO` (a PPO subclass), the others plain PPO.
    """
    catalogue = env.get_attr("catalogue")[0]
    policy, policy_kwargs = policy_class_and_kwargs(
        config.policy,
        catalogue.embeddings,
        net_arch=config.net_arch,
        temperature=config.temperature,
        clean_critic=config.clean_critic,
    )
    kwargs: dict[str, Any] = {
        "learning_rate": config.learning_rate,
        "n_steps": config.n_steps,
        "batch_size": config.batch_size,
        "n_epochs": config.n_epochs,
        "gamma": config.gamma,
        "ent_coef": config.ent_coef,
        "policy_kwargs": policy_kwargs,
        "seed": config.seed,
        "device": device,
        "verbose": 0,
    }
    if config.defence == "sa":  # SA-PPO: PPO with the smoothness regulariser in its loss
        model = SAPPO(
            policy,
            env,
            sa_kappa=config.sa_kappa,
            sa_budget=budget_of(config),
            sa_embedding_slice=env.get_attr("embedding_slice")[0],
            sa_steps=config.sa_steps,
            **kwargs,
        )
    else:
        model = PPO(policy, env, **kwargs)
    model.set_logger(silent_logger())
    return model


def adversary_env(config: TrainConfig, recommender: PPO, num_envs: int | None = None, *, victim_view=None):
    """The adversary's MDP against ``recommender``: an SB3 VecEnv over :class:`AttackerVectorEnv`."""
    view = recommender_view(config, num_envs) if victim_view is None else victim_view
    return sb3_env(AttackerVectorEnv(recommender, view, budget=budget_of(config)))


def make_adversary(config: TrainConfig, env: Any, device: th.device | str, seed: int | None = None) -> PPO:
    """The learned adversary: PPO with a Gaussian ``MlpPolicy`` whose action is a direction in [-1, 1]^d."""
    model = PPO(
        "MlpPolicy",
        env,
        learning_rate=config.attacker_learning_rate,
        n_steps=config.attacker_n_steps,
        batch_size=min(config.batch_size, config.attacker_n_steps * env.num_envs),
        n_epochs=config.n_epochs,
        gamma=config.gamma,
        ent_coef=config.attacker_ent_coef,
        target_kl=config.attacker_target_kl,
        policy_kwargs={"net_arch": list(config.attacker_net_arch), "log_std_init": config.attacker_log_std_init},
        seed=config.seed if seed is None else seed,
        device=device,
        verbose=0,
    )
    model.set_logger(silent_logger())
    return model


def phase_seed(seed: int, index: int) -> int:
    """The seed of phase ``index`` of a run seeded ``seed`` (independent streams, reproducible on resume)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0] % (2**31))
