"""AdvRec-MovieLens-v1 on the ml-100k-mini fixture (11 films after the placeholder, 8 users).

The catalogue is encoded by the shipped all-MiniLM-L6-v2 into a module-scoped cache; the calibration
is short (few steps): these tests check the wiring, not the fit (tests/envs/test_calibration.py).
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import advrec_gym  # noqa: F401  (registers AdvRec-MovieLens-v1)
from advrec_gym.calibration import CalibrationConfig, calibrate
from advrec_gym.movielens import load_movielens, split_users
from advrec_gym.movielens_env import movielens_world

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "ml-100k-mini"
FAST = CalibrationConfig(steps=20, fold_in_steps=10)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("movielens-env-cache")


def make(cache, **kwargs):
    kwargs.setdefault("calibration", FAST)
    kwargs.setdefault("test_fraction", 0.25)
    return gym.make("AdvRec-MovieLens-v1", path=str(MINI), cache_dir=str(cache), **kwargs)


@pytest.mark.slow
def test_the_env_is_advrec_v1_over_the_calibrated_catalogue(cache):
    env = make(cache)
    inner = env.unwrapped
    assert isinstance(inner, advrec_gym.AdvRecEnv)
    cat = inner.catalogue
    assert cat.num_items == 11 and 9 not in cat.ids.tolist()  # the placeholder is dropped
    assert env.observation_space.shape == (4 * 384 + 6,)
    assert inner.embedding_slice == slice(0, 4 * 384)
    data = load_movielens(MINI)
    cal = calibrate(data, cat.user_embeddings, test_fraction=0.25, config=FAST, cache_dir=cache)
    np.testing.assert_array_equal(cat.appeal, cal.appeal)
    np.testing.assert_array_equal(cat.quality, cal.quality)
    population = inner.engine.user_model
    train, test = split_users(data.user_ids(), 0.25, 0)
    assert population.num_users == len(train) == 6
    np.testing.assert_array_equal(population.interests, cal.interests("train"))
    # the popularity prior counts the training users' ratings only (plus one)
    np.testing.assert_allclose(cat.popularity, data.popularity(train) / data.popularity(train).sum())


@pytest.mark.slow
def test_the_test_split_draws_the_held_out_users(cache):
    env = make(cache, split="test")
    world = movielens_world(MINI, split="test", test_fraction=0.25, calibration=FAST, cache_dir=str(cache))
    np.testing.assert_array_equal(env.unwrapped.engine.user_model.interests, world.calibration.interests("test"))
    assert world.population.num_users == 2
    train_world = movielens_world(MINI, test_fraction=0.25, calibration=FAST, cache_dir=str(cache))
    assert train_world.catalogue is world.catalogue  # one catalogue and fit per folder and settings (memo)


@pytest.mark.slow
def test_check_env_and_seeded_rollouts(cache):
    env = make(cache)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped, skip_render_check=True)
    assert [str(w.message) for w in caught] == []

    def rollout(seed):
        e = make(cache)
        obs, _ = e.reset(seed=seed)
        out = [obs]
        for t in range(30):
            obs, reward, terminated, truncated, info = e.step(t % 11)
            out.append(np.append(obs, [reward, info["clicked_item"]]))
            if terminated or truncated:
                break
        return np.concatenate(out)

    np.testing.assert_array_equal(rollout(3), rollout(3))


@pytest.mark.slow
def test_vector_env(cache):
    venv = gym.make_vec(
        "AdvRec-MovieLens-v1",
        num_envs=4,
        vectorization_mode="vector_entry_point",
        path=str(MINI),
        cache_dir=str(cache),
        calibration=FAST,
        test_fraction=0.25,
    )
    assert isinstance(venv.unwrapped, advrec_gym.AdvRecVectorEnv)
    obs, _ = venv.reset(seed=0)
    assert obs.shape == (4, 4 * 384 + 6)
    clicks = 0
    for _ in range(50):
        obs, reward, terminated, truncated, info = venv.step(np.arange(4) % 11)
        clicks += int(info["click"].sum())
    assert clicks > 0  # the fitted users click something


@pytest.mark.slow
def test_users_held_out_never_shape_the_items(cache, tmp_path):
    """Rewrite the held-out users' ratings (all 5 stars): appeal, quality, popularity and the
    training users' interests stay exactly the same; only the test population changes."""
    data = load_movielens(MINI)
    _, test = split_users(data.user_ids(), 0.25, 0)
    folder = tmp_path / "ml"
    folder.mkdir()
    shutil.copy(MINI / "u.item", folder / "u.item")
    lines = (MINI / "u.data").read_text(encoding="latin-1").splitlines()
    edited = []
    for line in lines:
        u, i, r, t = line.split("\t")
        edited.append("\t".join([u, i, "5" if int(u) in set(test.tolist()) else r, t]))
    (folder / "u.data").write_bytes(("\n".join(edited) + "\n").encode("latin-1"))
    a = movielens_world(MINI, test_fraction=0.25, calibration=FAST, cache_dir=str(cache))
    b = movielens_world(folder, test_fraction=0.25, calibration=FAST, cache_dir=str(cache))
    for name in ("appeal", "quality", "popularity", "embeddings"):
        np.testing.assert_array_equal(getattr(a.catalogue, name), getattr(b.catalogue, name))
    np.testing.assert_array_equal(a.population.interests, b.population.interests)
    assert not np.array_equal(a.calibration.test_interests, b.calibration.test_interests)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"split": "tset"}, ValueError, "Did you mean 'test'"),
        ({"catalogue": None, "num_items": 5}, ValueError, "builds its catalogue and users from path="),
        ({"user_model": advrec_gym.UserModel()}, ValueError, "drop user_model"),
        ({"splt": "train"}, TypeError, "Did you mean 'split'"),
        ({"duplicates": "merged"}, ValueError, "Did you mean 'merge'"),
    ],
)
def test_bad_arguments(cache, kwargs, error, match):
    with pytest.raises(error, match=match):
        make(cache, **kwargs)


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(TypeError, match="needs path="):
        gym.make("AdvRec-MovieLens-v1")
    with pytest.raises(FileNotFoundError, match="nowhere not found: the MovieLens 100K data set is not shipped"):
        gym.make("AdvRec-MovieLens-v1", path=str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="u.item not found"):
        gym.make("AdvRec-MovieLens-v1", path=str(tmp_path))
