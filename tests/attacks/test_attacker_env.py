"""AttackerEnv and AttackerVectorEnv: the learned adversary's MDP against a frozen victim."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from attack_helpers import OBS_DIM, SLICE, ConstantPolicy
from gymnasium.utils.env_checker import check_env as gym_check_env
from gymnasium.vector import AutoresetMode
from stable_baselines3 import PPO
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from advrec_gym.attacks import AttackerEnv, AttackerVectorEnv, Budget, LearnedAdversary
from advrec_gym.attacks.victim import action_probabilities
from advrec_gym.sb3_adapter import SB3VecEnvAdapter
from advrec_gym.v0 import AdvRecEnv, AdvRecVectorEnv
from advrec_gym.wrappers import AdversarialObservation

EPS = Budget(0.05, "inf")


@pytest.mark.parametrize("include_victim_probs", [False, True])
def test_attacker_env_passes_both_env_checkers_without_warnings(tiny_catalogue, victim, include_victim_probs):
    env = AttackerEnv(victim, AdvRecEnv(tiny_catalogue), budget=EPS, include_victim_probs=include_victim_probs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        gym_check_env(env, skip_render_check=True)  # AdvRec has no renderer
        sb3_check_env(env, warn=True)
    assert env.action_space == gym.spaces.Box(-1.0, 1.0, (SLICE.stop,), np.float32)
    assert env.observation_space.shape == (OBS_DIM + 20 * include_victim_probs,)


def test_reward_is_minus_the_victims_and_the_victim_acts_on_the_perturbed_obs(tiny_catalogue, victim):
    env = AttackerEnv(
        victim, AdvRecEnv(tiny_catalogue), budget=EPS, include_victim_probs=True, victim_deterministic=True
    )
    clean = AdvRecEnv(tiny_catalogue)
    obs, _ = env.reset(seed=4)
    clean_obs, _ = clean.reset(seed=4)
    np.testing.assert_array_equal(obs[:OBS_DIM], clean_obs)
    np.testing.assert_allclose(obs[OBS_DIM:], action_probabilities(victim.policy, clean_obs[None])[0], rtol=1e-6)
    rng = np.random.default_rng(0)
    for _ in range(40):
        direction = rng.uniform(-1, 1, SLICE.stop).astype(np.float32)
        perturbed = clean_obs.copy()
        perturbed[SLICE] = np.clip(clean_obs[SLICE] + 0.05 * direction, -1, 1)
        expected_action = int(victim.predict(perturbed, deterministic=True)[0])
        expected_norm = np.abs(perturbed - clean_obs).max()
        obs, reward, terminated, truncated, info = env.step(direction)
        assert info["victim_action"] == expected_action
        assert info["perturbation_norm"] == pytest.approx(expected_norm, abs=1e-7) and expected_norm <= 0.05 + 1e-6
        clean_obs, clean_reward, clean_term, clean_trunc, _ = clean.step(expected_action)
        assert reward == -clean_reward == -info["victim_reward"]
        np.testing.assert_array_equal(obs[:OBS_DIM], clean_obs)
        if terminated or truncated:
            assert (terminated, truncated) == (clean_term, clean_trunc)
            break


def test_vector_attacker_env_matches_the_single_one_slot_by_slot(tiny_catalogue, victim):
    n, steps = 3, 40
    rng = np.random.default_rng(1)
    directions = rng.uniform(-1, 1, (steps, n, SLICE.stop)).astype(np.float32)
    venv = AttackerVectorEnv(
        victim,
        AdvRecVectorEnv(n, catalogue=tiny_catalogue, max_episode_steps=12),
        budget=EPS,
        victim_deterministic=True,
    )
    assert venv.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    obs, _ = venv.reset(seed=9)
    vec = [(obs, None, None, None)]
    for t in range(steps):
        obs, reward, terminated, truncated, info = venv.step(directions[t])
        vec.append((obs, reward, terminated | truncated, info.get("final_obs")))
    for i in range(n):
        env = AttackerEnv(
            victim, gym.wrappers.TimeLimit(AdvRecEnv(tiny_catalogue), 12), budget=EPS, victim_deterministic=True
        )
        obs, _ = env.reset(seed=9 + i)
        np.testing.assert_array_equal(vec[0][0][i], obs)
        for t in range(steps):
            obs, reward, terminated, truncated, _ = env.step(directions[t, i])
            assert vec[t + 1][1][i] == reward and vec[t + 1][2][i] == (terminated or truncated)
            if terminated or truncated:
                np.testing.assert_array_equal(vec[t + 1][3][i], obs)  # final_obs: the clean last observation
                obs, _ = env.reset()
            np.testing.assert_array_equal(vec[t + 1][0][i], obs)


def test_sampled_victim_actions_are_seeded_by_reset(tiny_catalogue, victim):
    def run(seed):
        env = AttackerEnv(victim, AdvRecEnv(tiny_catalogue), budget=EPS)
        env.reset(seed=seed)
        return [env.step(np.zeros(SLICE.stop, np.float32))[4]["victim_action"] for _ in range(15)]

    assert run(0) == run(0) != run(1)


def test_ppo_learns_on_the_vector_attacker_env_and_plugs_into_the_wrapper(tiny_catalogue, victim, one_torch_thread):
    venv = AttackerVectorEnv(victim, AdvRecVectorEnv(4, catalogue=tiny_catalogue, max_episode_steps=10), budget=EPS)
    adversary = PPO("MlpPolicy", SB3VecEnvAdapter(venv), n_steps=16, batch_size=32, n_epochs=1, seed=0, device="cpu")
    adversary.learn(64)
    assert adversary.num_timesteps == 64
    attacker = LearnedAdversary(adversary, EPS)
    env = AdversarialObservation(AdvRecEnv(tiny_catalogue), attacker, ratio=1.0)
    obs, info = env.reset(seed=0)
    _, _, _, _, info = env.step(0)
    assert info["attacked"] and 0.0 < info["perturbation_norm"] <= 0.05 + 1e-6


def test_black_box_victims_work_but_cannot_show_probabilities(tiny_catalogue):
    env = AttackerEnv(ConstantPolicy(5), AdvRecEnv(tiny_catalogue), budget=EPS)
    env.reset(seed=0)
    assert env.step(np.zeros(SLICE.stop, np.float32))[4]["victim_action"] == 5
    with pytest.raises(TypeError, match="include_victim_probs=True needs the victim's action probabilities"):
        AttackerEnv(ConstantPolicy(), AdvRecEnv(tiny_catalogue), budget=EPS, include_victim_probs=True)


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda c, v: AttackerEnv(object(), AdvRecEnv(c), budget=EPS), TypeError, "predict(obs, deterministic=...)"),
        (lambda c, v: AttackerEnv(v, AdvRecEnv(c)), ValueError, "needs a budget"),
        (lambda c, v: AttackerEnv(v, AdvRecEnv(c), budget=EPS, slate_size=2), TypeError, "not both"),
        (lambda c, v: AttackerEnv(v, AdvRecVectorEnv(2, catalogue=c), budget=EPS), TypeError, "AttackerVectorEnv"),
        (lambda c, v: AttackerVectorEnv(v, AdvRecEnv(c), budget=EPS), TypeError, "gymnasium.vector.VectorEnv"),
        (lambda c, v: AttackerVectorEnv(v, num_envs=0, budget=EPS, catalogue=c), ValueError, "num_envs must be an int"),
    ],
)
def test_bad_arguments_are_refused(tiny_catalogue, victim, make, error, words):
    with pytest.raises(error) as info:
        make(tiny_catalogue, victim)
    assert words in str(info.value)


def test_a_victim_of_another_env_is_refused(make_tiny_catalogue, victim):
    with pytest.raises(ValueError, match=r"victim expects observations of shape \(27,\), but the env's have shape"):
        AttackerEnv(victim, AdvRecEnv(make_tiny_catalogue(dim=16)), budget=EPS)


def test_bad_attacker_actions_are_refused(tiny_catalogue, victim):
    env = AttackerEnv(victim, AdvRecEnv(tiny_catalogue), budget=EPS)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"must have shape \(1, 24\) or \(24,\), got shape \(5,\)"):
        env.step(np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="must be finite"):
        env.step(np.full(SLICE.stop, np.nan, np.float32))
