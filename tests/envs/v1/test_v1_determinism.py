"""Seeding contracts of AdvRec-v1: same seed, same trajectory; slot i of the vector env is the single env seeded s + i."""

from __future__ import annotations

import numpy as np
import pytest

from advrec_gym import AdvRecEnv, AdvRecVectorEnv, UserModel

SHORT_AND_LONG = UserModel(budget_range=(3.0, 80.0), drift_range=(0.0, 0.2))


def _rollout_single(catalogue, seed: int, actions: np.ndarray, slate_size: int = 1):
    """(obs, reward, terminated, truncated, clicked) per step; reset without a seed after an episode ends."""
    env = AdvRecEnv(catalogue=catalogue, user_model=SHORT_AND_LONG, slate_size=slate_size, horizon=30)
    obs, _ = env.reset(seed=seed)
    out = []
    for a in actions:
        obs, r, term, trunc, info = env.step(a if slate_size > 1 else int(a))
        out.append((obs.copy(), r, term, trunc, info["clicked_item"]))
        if term or trunc:
            obs, _ = env.reset()
            out[-1] = (*out[-1], obs.copy())
    return out


@pytest.mark.parametrize("slate_size", [1, 2])
def test_vector_slot_i_replays_the_single_env_seeded_s_plus_i_across_autoresets(v1_catalogue, slate_size):
    n, steps, seed = 5, 120, 40
    rng = np.random.default_rng(0)
    shape = (steps, n) if slate_size == 1 else (steps, n, slate_size)
    actions = rng.integers(0, v1_catalogue.num_items, size=shape)
    venv = AdvRecVectorEnv(n, catalogue=v1_catalogue, user_model=SHORT_AND_LONG, slate_size=slate_size, horizon=30)
    obs, _ = venv.reset(seed=seed)
    vector = [[] for _ in range(n)]
    for a in actions:
        obs, reward, terminated, truncated, info = venv.step(a)
        for i in range(n):
            done = terminated[i] or truncated[i]
            final = info["final_obs"][i] if done else obs[i]
            row = (
                final.copy(),
                float(reward[i]),
                bool(terminated[i]),
                bool(truncated[i]),
                int(info["clicked_item"][i]),
            )
            vector[i].append((*row, obs[i].copy()) if done else row)
    ended = 0
    for i in range(n):
        single = _rollout_single(v1_catalogue, seed + i, actions[:, i], slate_size)
        assert len(single) == len(vector[i]) == steps
        for t, (s, v) in enumerate(zip(single, vector[i], strict=True)):
            assert len(s) == len(v), f"slot {i} step {t}: one ended and the other did not"
            for a, b in zip(s, v, strict=True):
                np.testing.assert_array_equal(a, b)
            ended += len(s) == 6
    assert ended >= n  # autoresets happened


def test_same_seed_same_trajectory_and_other_seeds_differ(v1_catalogue):
    actions = np.random.default_rng(1).integers(0, v1_catalogue.num_items, size=60)
    a = _rollout_single(v1_catalogue, 7, actions)
    b = _rollout_single(v1_catalogue, 7, actions)
    c = _rollout_single(v1_catalogue, 8, actions)
    for x, y in zip(a, b, strict=True):
        for u, v in zip(x, y, strict=True):
            np.testing.assert_array_equal(u, v)
    assert any(not np.array_equal(x[0], y[0]) for x, y in zip(a, c, strict=False))


def test_vector_reset_with_a_seed_list_and_without_a_seed(v1_catalogue):
    venv = AdvRecVectorEnv(3, catalogue=v1_catalogue)
    venv.reset(seed=[5, 9, 11])
    keyed = venv.engine.users.copy()
    single = AdvRecEnv(catalogue=v1_catalogue)
    for i, s in enumerate([5, 9, 11]):
        single.reset(seed=s)
        np.testing.assert_array_equal(single.engine.users[0], keyed[i])
    # reset() without a seed moves every slot to its key's next episode, as the single env does
    venv.reset()
    single.reset(seed=9)
    single.reset()
    np.testing.assert_array_equal(single.engine.users[0], venv.engine.users[1])
    assert not np.array_equal(keyed, venv.engine.users)


def test_unseeded_resets_draw_fresh_users(v1_catalogue):
    a, b = AdvRecEnv(catalogue=v1_catalogue), AdvRecEnv(catalogue=v1_catalogue)
    a.reset()
    b.reset()
    assert not np.array_equal(a.engine.users, b.engine.users)


def test_a_slot_does_not_depend_on_the_batch_size(v1_catalogue):
    actions = np.random.default_rng(2).integers(0, v1_catalogue.num_items, size=(50, 8))
    small, big = AdvRecVectorEnv(2, catalogue=v1_catalogue), AdvRecVectorEnv(8, catalogue=v1_catalogue)
    small.reset(seed=[100, 101])
    big.reset(seed=100)
    for a in actions:
        o1, r1, *_ = small.step(a[:2])
        o2, r2, *_ = big.step(a)
        np.testing.assert_array_equal(o1, o2[:2])
        np.testing.assert_array_equal(r1, r2[:2])


@pytest.mark.parametrize("slate_size", [1, 3])
def test_the_threaded_kernel_gives_the_single_threaded_trajectories(v1_catalogue, slate_size):
    """threads=2 splits the users across numba threads: every array it returns is bit-identical."""
    import numba

    threads = min(2, numba.config.NUMBA_NUM_THREADS)
    n = 37  # not a multiple of the chunk count: uneven chunks
    rng = np.random.default_rng(3)
    actions = np.stack([rng.permuted(np.tile(np.arange(v1_catalogue.num_items), (n, 1)), axis=1)[:, :slate_size]
                        for _ in range(120)])  # fmt: skip
    one = AdvRecVectorEnv(n, catalogue=v1_catalogue, slate_size=slate_size)
    many = AdvRecVectorEnv(n, catalogue=v1_catalogue, slate_size=slate_size, threads=threads)
    assert many.engine.threads == threads
    o1, _ = one.reset(seed=40)
    o2, _ = many.reset(seed=40)
    ended = 0
    for a in actions:
        a = a[:, 0] if slate_size == 1 else a
        s1, s2 = one.step(a), many.step(a)
        for x, y in zip(s1[:4], s2[:4], strict=True):
            np.testing.assert_array_equal(x, y)
        assert sorted(s1[4]) == sorted(s2[4])
        for key in s1[4]:
            np.testing.assert_array_equal(s1[4][key], s2[4][key])
        ended += int(np.sum(s1[2] | s1[3]))
    assert ended > n  # autoresets happened inside the threaded kernel too
    np.testing.assert_array_equal(one.engine.users, many.engine.users)
    np.testing.assert_array_equal(one.engine.counters, many.engine.counters)


@pytest.mark.parametrize(
    ("threads", "error", "match"),
    [(0, ValueError, r"threads must be an int in \[1, inf\), got threads=0"),
     (10_000, ValueError, r"threads must be in \[1, \d+\].*got threads=10000"),
     (1.5, TypeError, r"threads must be an int, got threads=1.5")],
)  # fmt: skip
def test_threads_is_validated(v1_catalogue, threads, error, match):
    with pytest.raises(error, match=match):
        AdvRecVectorEnv(2, catalogue=v1_catalogue, threads=threads)
