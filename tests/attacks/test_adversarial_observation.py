"""AdversarialObservation: single env, native vector env, and under SB3VecEnvAdapter."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
from attack_helpers import SLICE
from gymnasium.vector import AutoresetMode
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

from advrec_gym.attacks import FGSM, PGD, Budget, RandomNoise
from advrec_gym.sb3_adapter import SB3VecEnvAdapter
from advrec_gym.v0 import AdvRecEnv, AdvRecVectorEnv
from advrec_gym.wrappers import AdversarialObservation, VectorAdversarialObservation

EPS = Budget(0.05, "inf")


def rollout(env, actions, seed):
    """(observations, rewards, infos) of a single env under fixed actions, restarting at episode end."""
    obs, info = env.reset(seed=seed)
    out_obs, rewards, infos = [obs], [], [info]
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            obs, info = env.reset()
        out_obs.append(obs)
        rewards.append(reward)
        infos.append(info)
    return np.array(out_obs), np.array(rewards), infos


@pytest.mark.parametrize("ratio", [0.0, 0.3, 1.0])
def test_single_env_attacks_a_share_ratio_and_never_changes_the_user(tiny_catalogue, victim, ratio):
    actions = np.random.default_rng(0).integers(0, 20, 300)
    clean_obs, clean_rewards, _ = rollout(AdvRecEnv(tiny_catalogue), actions, seed=3)
    env = AdversarialObservation(AdvRecEnv(tiny_catalogue), FGSM(victim, EPS), ratio=ratio, seed=0)
    obs, rewards, infos = rollout(env, actions, seed=3)
    np.testing.assert_array_equal(rewards, clean_rewards)  # the user model never sees the attack
    attacked = np.array([info["attacked"] for info in infos])
    norms = np.array([info["perturbation_norm"] for info in infos])
    changed = np.any(obs != clean_obs, axis=1)
    np.testing.assert_array_equal(changed, attacked)
    np.testing.assert_array_equal(obs[:, SLICE.stop :], clean_obs[:, SLICE.stop :])
    assert np.all(norms[~attacked] == 0.0) and np.all(norms[attacked] <= 0.05 + 1e-6)
    np.testing.assert_allclose(norms, np.abs(obs - clean_obs).max(axis=1), atol=1e-7)
    if ratio in (0.0, 1.0):
        assert attacked.all() == (ratio == 1.0) and attacked.any() == (ratio == 1.0)
    else:  # 301 observations, p = 0.3: mean 90, sd 8
        assert 60 < attacked.sum() < 120
    assert all(obs_i in env.observation_space for obs_i in obs)


def test_seeded_reset_makes_attacked_rollouts_repeat(tiny_catalogue):
    actions = np.random.default_rng(1).integers(0, 20, 50)
    runs = []
    for wrapper_seed in (0, 99):  # the reset seed, not the constructor's, decides
        env = AdversarialObservation(AdvRecEnv(tiny_catalogue), RandomNoise(EPS, seed=wrapper_seed), ratio=0.5)
        runs.append(rollout(env, actions, seed=7)[0])
    np.testing.assert_array_equal(*runs)


def test_vector_wrapper_matches_single_wrapper_slot_by_slot_at_ratio_one(tiny_catalogue, victim):
    """FGSM is deterministic, so slot i of the attacked vector env is the attacked single env seeded 5 + i."""
    n, steps = 3, 60
    actions = np.random.default_rng(2).integers(0, 20, (steps, n))
    venv = AdversarialObservation(
        AdvRecVectorEnv(n, catalogue=tiny_catalogue, max_episode_steps=15), FGSM(victim, EPS), ratio=1.0
    )
    assert isinstance(venv, VectorAdversarialObservation)
    assert venv.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    obs, info = venv.reset(seed=5)
    assert info["attacked"].all()
    vec_obs, finals = [obs], []
    for t in range(steps):
        obs, _, _, _, info = venv.step(actions[t])
        vec_obs.append(obs)
        finals.append(info.get("final_obs"))
        np.testing.assert_array_equal(info["_attacked"], np.ones(n, dtype=bool))
        assert info["perturbation_norm"].dtype == np.float32 and info["perturbation_norm"].max() <= 0.05 + 1e-6
    for i in range(n):
        single = AdversarialObservation(
            gym.wrappers.TimeLimit(AdvRecEnv(tiny_catalogue), 15), FGSM(victim, EPS), ratio=1.0
        )
        obs, _ = single.reset(seed=5 + i)
        np.testing.assert_allclose(vec_obs[0][i], obs, atol=1e-7)
        for t in range(steps):
            obs, _, terminated, truncated, _ = single.step(actions[t, i])
            if terminated or truncated:  # the final obs is perturbed like any other; then the reset one
                np.testing.assert_allclose(finals[t][i], obs, atol=1e-7)
                obs, _ = single.reset()
            np.testing.assert_allclose(vec_obs[t + 1][i], obs, atol=1e-7)


def test_final_obs_is_perturbed_with_its_slots_coin_flip(tiny_catalogue):
    n = 16
    clean = AdvRecVectorEnv(n, catalogue=tiny_catalogue, max_episode_steps=5)
    attacked = AdversarialObservation(
        AdvRecVectorEnv(n, catalogue=tiny_catalogue, max_episode_steps=5), RandomNoise(EPS), ratio=0.5, seed=0
    )
    clean.reset(seed=0)
    attacked.reset(seed=0)
    for _ in range(5):  # every slot's episode ends at step 5
        actions = np.arange(n) % 20
        _, _, _, _, clean_info = clean.step(actions)
        _, _, _, _, info = attacked.step(actions)
    mask = info["_final_obs"]
    assert mask.all() and np.array_equal(mask, clean_info["_final_obs"])
    differs = np.any(info["final_obs"] != clean_info["final_obs"], axis=1)
    np.testing.assert_array_equal(differs, info["attacked"])
    assert 0 < differs.sum() < n


def test_attacked_vector_env_trains_under_the_sb3_adapter(tiny_catalogue, victim, one_torch_thread):
    venv = AdversarialObservation(
        AdvRecVectorEnv(4, catalogue=tiny_catalogue, max_episode_steps=10), PGD(victim, EPS, steps=2), ratio=0.5, seed=0
    )
    adapter = SB3VecEnvAdapter(venv)
    adapter.seed(0)
    adapter.reset()
    _, _, _, infos = adapter.step(np.zeros(4, dtype=np.int64))
    assert all(set(info) >= {"attacked", "perturbation_norm"} for info in infos)
    assert adapter.env_is_wrapped(VectorAdversarialObservation) == [True] * 4
    model = PPO("MlpPolicy", adapter, n_steps=16, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(64)
    assert model.num_timesteps == 64


def test_wrapped_single_env_pickles(tiny_catalogue):
    env = AdversarialObservation(AdvRecEnv(tiny_catalogue), RandomNoise(EPS, seed=0), ratio=1.0, seed=0)
    copy = pickle.loads(pickle.dumps(env))
    a, _ = env.reset(seed=1)
    b, _ = copy.reset(seed=1)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("ratio", [-0.1, 1.5, float("nan")])
def test_ratio_outside_the_unit_interval_is_refused(tiny_catalogue, ratio):
    with pytest.raises(ValueError, match=r"ratio must be a finite number in \[0.0, 1.0\]"):
        AdversarialObservation(AdvRecEnv(tiny_catalogue), RandomNoise(EPS), ratio=ratio)


def test_a_victim_trained_on_another_observation_shape_is_refused(make_tiny_catalogue, victim):
    other = AdvRecEnv(make_tiny_catalogue(dim=16))
    with pytest.raises(ValueError, match=r"observations have shape \(51,\), but the victim of FGSM expects shape"):
        AdversarialObservation(other, FGSM(victim, EPS))


def test_non_attackers_and_sb3_vec_envs_are_refused(tiny_catalogue):
    with pytest.raises(TypeError, match="attacker must be an advrec_gym.attacks attacker"):
        AdversarialObservation(AdvRecEnv(tiny_catalogue), lambda obs: obs)
    sb3_env = DummyVecEnv([lambda: AdvRecEnv(tiny_catalogue)])
    with pytest.raises(TypeError, match="wrap the Gymnasium vector env first, then adapt it"):
        AdversarialObservation(sb3_env, RandomNoise(EPS))


def test_other_envs_need_an_explicit_embedding_slice():
    with pytest.raises(ValueError, match="The env has no embedding_slice"):
        AdversarialObservation(gym.make("CartPole-v1"), RandomNoise(EPS))
    env = AdversarialObservation(
        gym.make("CartPole-v1"), RandomNoise(EPS, embedding_slice=slice(0, 2), clip_range=None, seed=0)
    )
    obs, info = env.reset(seed=0)
    clean, _ = gym.make("CartPole-v1").reset(seed=0)
    assert info["attacked"] and 0 < np.abs(obs - clean)[:2].max() <= 0.05 + 1e-7
    np.testing.assert_array_equal(obs[2:], clean[2:])
