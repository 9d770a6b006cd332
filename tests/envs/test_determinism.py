"""Same seed, same trajectory: single env, vector env, and a vector slot against a single env.

Users in these tests get budgets of 40 to 250 steps (``long_user_model``), so the rollouts cover
episodes that end by the user leaving (``terminated``) and by the 100-step time limit (``truncated``),
with autoresets in between.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from advrec_gym import UserModel
from advrec_gym.v0 import AdvRecEnv, AdvRecVectorEnv
from advrec_gym.v0.engine import UNIFORM_CHUNK


def _actions(num_steps: int, shape: tuple[int, ...], num_items: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, num_items, size=(num_steps, *shape))


def _single_rollout(env, seed: int, actions: np.ndarray) -> list[tuple]:
    """(obs, reward, terminated, truncated, clicked_item) per step, resetting without a seed at episode end."""
    obs, _ = env.reset(seed=seed)
    out = [(obs, 0.0, False, False, -1)]
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        out.append((obs, reward, terminated, truncated, info["clicked_item"]))
        if terminated or truncated:
            obs, _ = env.reset()
            out.append((obs, 0.0, False, False, -1))
    return out


def _vector_rollout(venv, seed: int, actions: np.ndarray) -> list[tuple]:
    obs, _ = venv.reset(seed=seed)
    out = [(obs.copy(),)]
    for a in actions:
        obs, reward, terminated, truncated, info = venv.step(a)
        final = info.get("final_obs")
        out.append(
            (obs.copy(), reward, terminated, truncated, info["clicked_item"], None if final is None else final.copy())
        )
    return out


def _assert_same(a: list[tuple], b: list[tuple]) -> None:
    assert len(a) == len(b)
    for step, (x, y) in enumerate(zip(a, b, strict=True)):
        for u, v in zip(x, y, strict=True):
            assert (u is None) == (v is None), f"step {step}"
            if u is not None:
                np.testing.assert_array_equal(u, v, err_msg=f"step {step}")


@pytest.mark.parametrize("slate_size", [1, 3])
def test_single_env_same_seed_same_rollout(slate_size, tiny_catalogue, long_user_model):
    make = lambda: gym.make("AdvRec-v0", catalogue=tiny_catalogue, slate_size=slate_size, user_model=long_user_model)  # noqa: E731
    shape = () if slate_size == 1 else (slate_size,)
    actions = _actions(400, shape, 20, seed=1)
    a = _single_rollout(make(), 7, actions)
    b = _single_rollout(make(), 7, actions)
    _assert_same(a, b)
    episodes = sum(1 for step in a if step[2] or step[3])
    assert episodes >= 3
    assert sum(step[1] for step in a) > 0  # some clicks happened
    # Another seed gives another trajectory.
    c = _single_rollout(make(), 8, actions)
    assert not all(np.array_equal(x[0], y[0]) for x, y in zip(a, c, strict=False))


@pytest.mark.parametrize("slate_size", [1, 3])
def test_vector_env_same_seed_same_rollout(slate_size, tiny_catalogue, long_user_model):
    def make():
        return gym.make_vec(
            "AdvRec-v0",
            num_envs=8,
            vectorization_mode="vector_entry_point",
            catalogue=tiny_catalogue,
            slate_size=slate_size,
            user_model=long_user_model,
        )

    shape = (8,) if slate_size == 1 else (8, slate_size)
    actions = _actions(300, shape, 20, seed=2)
    a = _vector_rollout(make(), 5, actions)
    b = _vector_rollout(make(), 5, actions)
    _assert_same(a, b)
    c = _vector_rollout(make(), 6, actions)
    assert not np.array_equal(a[-1][0], c[-1][0])


def test_vector_env_copy_false_gives_the_same_values(tiny_catalogue, long_user_model):
    actions = _actions(250, (4,), 20, seed=3)
    kwargs = dict(catalogue=tiny_catalogue, user_model=long_user_model, max_episode_steps=100)
    a = _vector_rollout(AdvRecVectorEnv(4, copy=True, **kwargs), 0, actions)
    b = _vector_rollout(AdvRecVectorEnv(4, copy=False, **kwargs), 0, actions)
    _assert_same(a, b)


@pytest.mark.parametrize("slate_size", [1, 3])
def test_vector_slot_i_seeded_s_follows_single_env_seeded_s_plus_i(slate_size, tiny_catalogue, long_user_model):
    num_envs, seed, num_steps = 5, 100, 420
    kwargs = dict(catalogue=tiny_catalogue, slate_size=slate_size, user_model=long_user_model)
    venv = gym.make_vec("AdvRec-v0", num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    singles = [gym.make("AdvRec-v0", **kwargs) for _ in range(num_envs)]
    shape = (num_envs,) if slate_size == 1 else (num_envs, slate_size)
    actions = _actions(num_steps, shape, 20, seed=4)

    vobs, _ = venv.reset(seed=seed)
    for i, env in enumerate(singles):
        obs, _ = env.reset(seed=seed + i)
        np.testing.assert_array_equal(vobs[i], obs)

    terminations = truncations = 0
    for t in range(num_steps):
        vobs, vrew, vterm, vtrunc, vinfo = venv.step(actions[t])
        for i, env in enumerate(singles):
            obs, reward, terminated, truncated, info = env.step(actions[t, i])
            assert vrew[i] == reward, f"step {t} slot {i}"
            assert vinfo["clicked_item"][i] == info["clicked_item"]
            assert vterm[i] == terminated
            # TimeLimit flags truncated even when the user also left on step 100; the native
            # vector env reports such a step as terminated only.
            assert vtrunc[i] == (truncated and not terminated)
            if terminated or truncated:
                terminations += terminated
                truncations += truncated and not terminated
                assert vinfo["_final_obs"][i]
                np.testing.assert_array_equal(vinfo["final_obs"][i], obs, err_msg=f"final obs, step {t} slot {i}")
                obs, _ = env.reset()
            else:
                assert "final_obs" not in vinfo or not vinfo["_final_obs"][i]
            np.testing.assert_array_equal(vobs[i], obs, err_msg=f"step {t} slot {i}")
    # The rollout covered both ways an episode ends, several times.
    assert terminations >= 5
    assert truncations >= 3


def test_slot_trajectory_does_not_depend_on_batch_size(tiny_catalogue, long_user_model):
    kwargs = dict(catalogue=tiny_catalogue, user_model=long_user_model, max_episode_steps=100)
    big = AdvRecVectorEnv(64, **kwargs)
    small = AdvRecVectorEnv(1, **kwargs)
    actions = _actions(300, (64,), 20, seed=9)
    big_obs, _ = big.reset(seed=[70 + i for i in range(64)])
    small_obs, _ = small.reset(seed=70 + 10)
    np.testing.assert_array_equal(big_obs[10], small_obs[0])
    for a in actions:
        big_obs, big_rew, big_term, *_ = big.step(a)
        small_obs, small_rew, small_term, *_ = small.step(a[10:11])
        np.testing.assert_array_equal(big_obs[10], small_obs[0])
        assert big_rew[10] == small_rew[0] and big_term[10] == small_term[0]


def test_long_episodes_past_the_uniform_chunk_match(tiny_catalogue):
    """Episodes longer than the engine's chunk of 128 pre-drawn uniforms (refills mid-episode) still match."""
    patient = UserModel(budget_range=(300.0, 900.0))
    num_envs, seed, num_steps = 3, 21, 700
    venv = AdvRecVectorEnv(num_envs, catalogue=tiny_catalogue, user_model=patient, max_episode_steps=None)
    singles = [AdvRecEnv(catalogue=tiny_catalogue, user_model=patient) for _ in range(num_envs)]
    venv.reset(seed=seed)
    for i, env in enumerate(singles):
        env.reset(seed=seed + i)
    actions = _actions(num_steps, (num_envs,), 20, seed=5)
    longest = 0
    for t in range(num_steps):
        vobs, vrew, vterm, _, _ = venv.step(actions[t])
        for i, env in enumerate(singles):
            obs, reward, terminated, _, _ = env.step(actions[t, i])
            assert vrew[i] == reward and vterm[i] == terminated, f"step {t} slot {i}"
            longest = max(longest, int(env.engine.t[0]))
            if terminated:
                obs, _ = env.reset()
            np.testing.assert_array_equal(vobs[i], obs, err_msg=f"step {t} slot {i}")
    assert longest > 2 * UNIFORM_CHUNK  # at least two refills inside one episode


def test_uniforms_are_redrawn_every_chunk_of_an_episode(tiny_catalogue):
    """Each episode uses a fresh chunk of uniforms every UNIFORM_CHUNK steps, whenever it started."""
    patient = UserModel(budget_range=(1000.0, 1000.0))
    venv = AdvRecVectorEnv(4, catalogue=tiny_catalogue, user_model=patient, max_episode_steps=None)
    venv.reset(seed=0)
    eng = venv.engine
    for _ in range(50):
        venv.step(np.zeros(4, dtype=np.int64))
    eng.reset_users(np.array([1, 3]))  # slots 1 and 3 start over at t = 0 while 0 and 2 are at t = 50
    for _ in range(UNIFORM_CHUNK - 1):
        venv.step(np.zeros(4, dtype=np.int64))
    np.testing.assert_array_equal(eng.t, [177, 127, 177, 127])
    before = eng.uniforms.copy()
    venv.step(np.zeros(4, dtype=np.int64))  # slots 1 and 3 reach t = 128: their chunk is used up
    assert not np.any(before[1] == eng.uniforms[1]) and not np.any(before[3] == eng.uniforms[3])
    np.testing.assert_array_equal(before[[0, 2]], eng.uniforms[[0, 2]])
    for _ in range(78):  # slots 0 and 2 reach t = 256
        venv.step(np.zeros(4, dtype=np.int64))
    assert not np.any(before[0] == eng.uniforms[0]) and not np.any(before[2] == eng.uniforms[2])
