"""Invalid actions raise a clear error and leave the simulator exactly as it was."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from advrec_gym.v0 import AdvRecEnv, AdvRecVectorEnv

ENGINE_ARRAYS = ("obs", "interest", "budget", "drift", "fatigue", "t", "clicks", "uniforms")


def _snapshot(env) -> dict:
    eng = env.unwrapped.engine
    state = {name: getattr(eng, name).copy() for name in ENGINE_ARRAYS}
    state["rngs"] = [None if r is None else r.bit_generator.state for r in eng.rngs]
    return state


def _assert_untouched(before: dict, after: dict) -> None:
    for name in ENGINE_ARRAYS:
        np.testing.assert_array_equal(before[name], after[name], err_msg=name)
    assert before["rngs"] == after["rngs"]


# (action, exception, fragments) for one env over 20 items.
SINGLE = [
    (20, ValueError, ["[0, 20)", "action=20"]),
    (-1, ValueError, ["[0, 20)", "action=-1"]),
    (np.int64(25), ValueError, ["[0, 20)", "25"]),
    (1.0, TypeError, ["integer item index", "1.0", "float"]),
    (np.float32(2.0), TypeError, ["integer item index", "float32"]),
    (float("nan"), TypeError, ["integer item index", "nan"]),
    (np.array([1, 2]), TypeError, ["integer item index"]),
    ("3", TypeError, ["integer item index", "'3'"]),
    (True, TypeError, ["integer item index", "True"]),
    (None, TypeError, ["integer item index", "None"]),
]
SLATE = [  # slate_size 3
    (np.array([1, 2]), TypeError, ["shape (3,)", "(2,)"]),
    (np.array([[1, 2, 3]]), TypeError, ["shape (3,)", "(1, 3)"]),
    (np.array([1, 2, 20]), ValueError, ["[0, 20)", "[20]"]),
    (np.array([-3, 2, 1]), ValueError, ["[0, 20)", "[-3]"]),
    (np.array([1.0, 2.0, 3.0]), TypeError, ["integer array", "float64"]),
    (np.array([1, 2, np.nan]), TypeError, ["integer array", "float64"]),
    (5, TypeError, ["shape (3,)", "()"]),
]
VECTOR = [  # 4 envs, slate_size 1
    (np.zeros(3, dtype=np.int64), ValueError, ["shape (4,)", "(3,)"]),
    (np.zeros((4, 2), dtype=np.int64), ValueError, ["shape (4,)", "(4, 2)"]),
    (np.array([0, 1, 2, 20]), ValueError, ["[0, 20)", "[20]"]),
    (np.array([0, -1, 2, 3]), ValueError, ["[0, 20)", "[-1]"]),
    (np.zeros(4), TypeError, ["integer", "float64"]),
    (np.array([0.0, 1.0, np.nan, 2.0]), TypeError, ["integer", "float64"]),
]
VECTOR_SLATE = [  # 4 envs, slate_size 3
    (np.zeros((4,), dtype=np.int64), ValueError, ["shape (4, 3)", "(4,)"]),
    (np.zeros((4, 2), dtype=np.int64), ValueError, ["shape (4, 3)", "(4, 2)"]),
    (np.full((4, 3), 20), ValueError, ["[0, 20)", "20"]),
    (np.zeros((4, 3), dtype=np.float32), TypeError, ["integer", "float32"]),
]


def _check(env, action, error, fragments):
    before = _snapshot(env)
    with pytest.raises(error) as info:
        env.step(action)
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} not in {str(info.value)!r}"
    _assert_untouched(before, _snapshot(env))


@pytest.mark.parametrize(("action", "error", "fragments"), SINGLE, ids=[repr(c[0]) for c in SINGLE])
def test_single_env_bad_action(action, error, fragments, tiny_catalogue):
    env = AdvRecEnv(catalogue=tiny_catalogue)
    env.reset(seed=0)
    env.step(3)  # some history first
    _check(env, action, error, fragments)


@pytest.mark.parametrize(("action", "error", "fragments"), SLATE, ids=[repr(c[0]) for c in SLATE])
def test_slate_env_bad_action(action, error, fragments, tiny_catalogue):
    env = AdvRecEnv(catalogue=tiny_catalogue, slate_size=3)
    env.reset(seed=0)
    env.step(np.array([0, 1, 2]))
    _check(env, action, error, fragments)


@pytest.mark.parametrize(("action", "error", "fragments"), VECTOR, ids=[repr(c[0]) for c in VECTOR])
def test_vector_env_bad_action(action, error, fragments, tiny_catalogue):
    venv = AdvRecVectorEnv(4, catalogue=tiny_catalogue, max_episode_steps=100)
    venv.reset(seed=0)
    venv.step(np.arange(4))
    _check(venv, action, error, fragments)


@pytest.mark.parametrize(("action", "error", "fragments"), VECTOR_SLATE, ids=[repr(c[0].shape) for c in VECTOR_SLATE])
def test_vector_slate_env_bad_action(action, error, fragments, tiny_catalogue):
    venv = AdvRecVectorEnv(4, catalogue=tiny_catalogue, slate_size=3, max_episode_steps=100)
    venv.reset(seed=0)
    _check(venv, action, error, fragments)


def test_bad_actions_do_not_change_the_trajectory(tiny_catalogue):
    """An env that was sent bad actions in between follows exactly the trajectory of one that was not."""
    clean, poked = AdvRecEnv(catalogue=tiny_catalogue), AdvRecEnv(catalogue=tiny_catalogue)
    clean.reset(seed=4)
    poked.reset(seed=4)
    actions = np.random.default_rng(0).integers(0, 20, size=200)
    for t, a in enumerate(actions):
        for bad in (20, -1, 1.5, np.array([a, a])):
            with pytest.raises((TypeError, ValueError)):
                poked.step(bad)
        out, out_poked = clean.step(a), poked.step(a)
        np.testing.assert_array_equal(out[0], out_poked[0], err_msg=f"step {t}")
        assert out[1:] == out_poked[1:]
        if out[2]:
            np.testing.assert_array_equal(clean.reset()[0], poked.reset()[0])


def test_integer_like_actions_are_accepted(tiny_catalogue):
    env = AdvRecEnv(catalogue=tiny_catalogue)
    env.reset(seed=0)
    for action in (3, np.int32(3), np.int64(3), np.array(3), np.array([3]), np.uint8(3)):
        assert env.step(action)[0].shape == (27,)
    venv = AdvRecVectorEnv(4, catalogue=tiny_catalogue)
    venv.reset(seed=0)
    for actions in (np.arange(4), np.arange(4, dtype=np.int32), np.arange(4).reshape(4, 1), [0, 1, 2, 3]):
        assert venv.step(actions)[0].shape == (4, 27)


def test_step_before_reset_is_an_error(tiny_catalogue):
    with pytest.raises(gym.error.ResetNeeded, match="reset"):
        AdvRecEnv(catalogue=tiny_catalogue).step(0)
    with pytest.raises(RuntimeError, match="reset"):
        AdvRecVectorEnv(2, catalogue=tiny_catalogue).step(np.zeros(2, dtype=np.int64))
