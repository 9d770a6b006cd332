"""AdvRec-v1's public face: the checkers, spaces, info, rendering, pickling, and hand-computed dynamics."""

from __future__ import annotations

import pickle
import warnings
from dataclasses import replace

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import advrec_gym
from advrec_gym import AdvRecEnv, AdvRecVectorEnv, Dynamics, LogitChoice, UserModel, UserPopulation
from advrec_gym import kernel as K
from advrec_gym.engine import replay_observations


@pytest.mark.parametrize("kwargs", [{}, {"slate_size": 3}], ids=["single-item", "slate"])
def test_checkers_pass_without_warnings_on_the_registered_default(kwargs):
    env = gym.make("AdvRec-v1", **kwargs)
    assert env.spec.max_episode_steps is None  # the env applies its own horizon
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gym_check_env(env.unwrapped)
        sb3_check_env(env.unwrapped, warn=True)
        sb3_check_env(env, warn=True)
    assert [str(w.message) for w in caught] == []
    assert env.observation_space.shape == (4 * 384 + 6,)
    assert env.unwrapped.embedding_slice == slice(0, 4 * 384)
    cat = env.unwrapped.catalogue
    kinds = np.array(cat.kinds)
    assert (kinds == "clickbait").mean() == pytest.approx(0.15) and (kinds == "quality").mean() == pytest.approx(0.2)
    assert np.all(cat.quality[kinds == "clickbait"] < 0) and np.all(cat.appeal[kinds == "clickbait"] > 0)


def test_sb3_make_vec_env_with_its_rgb_array_render_mode(v1_catalogue):
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env("AdvRec-v1", n_envs=2, seed=0, env_kwargs={"catalogue": v1_catalogue})
    obs = venv.reset()
    assert obs.shape == (2, 4 * 16 + 6)
    obs, reward, done, infos = venv.step(np.array([0, 1]))
    assert reward.shape == (2,) and "low_quality_clicked" in infos[0]
    frames = venv.get_images()
    assert frames[0].ndim == 3 and frames[0].dtype == np.uint8


def test_data_stays_in_the_spaces_and_info_holds_the_filtering_metrics(v1_catalogue):
    venv = AdvRecVectorEnv(6, catalogue=v1_catalogue, slate_size=2, horizon=40)
    obs, _ = venv.reset(seed=0)
    venv.action_space.seed(0)
    low = v1_catalogue.quality < 0
    for _ in range(150):
        actions = venv.action_space.sample()
        obs, reward, terminated, truncated, info = venv.step(actions)
        assert obs in venv.observation_space
        assert reward.dtype == np.float32 and not np.any(terminated & truncated)
        np.testing.assert_array_equal(info["click"], info["clicked_item"] >= 0)
        np.testing.assert_allclose(info["low_quality_shown"], low[actions].mean(axis=1))
        clicked = info["clicked_item"]
        np.testing.assert_array_equal(info["low_quality_clicked"], (clicked >= 0) & low[np.maximum(clicked, 0)])
        assert np.all(info["satisfaction"][clicked < 0] == 0)
        if "final_obs" in info:
            for i in np.flatnonzero(info["_final_obs"]):
                assert info["final_obs"][i] in venv.single_observation_space


def test_clickbait_shortens_the_visit_and_quality_extends_it_as_computed_by_hand(make_tiny_catalogue):
    # Appeal 10 makes every shown item a sure click; quality -0.5 costs 1 + 3 * 0.5 = 2.5 per step and
    # quality +0.5 gains 3 * 0.5 - 1 = 0.5 per step. Budget 10: the clickbait user leaves at step
    # ceil(10 / 2.5) = 4; the other stays until the horizon (20).
    base = make_tiny_catalogue(num_items=2, dim=4, num_topics=1, seed=0)
    cat = replace(base, quality=np.array([-0.5, 0.5]), appeal=np.array([10.0, 10.0]))
    env = AdvRecEnv(catalogue=cat, user_model=UserModel(budget_range=(10.0, 10.0)), horizon=20)
    for item, expected_length, terminated_expected in ((0, 4, True), (1, 20, False)):
        env.reset(seed=0)
        t, terminated, truncated = 0, False, False
        while not (terminated or truncated):
            obs, reward, terminated, truncated, info = env.step(item)
            t += 1
            assert reward == 1.0 and info["click"]
        assert t == expected_length and terminated is terminated_expected and truncated is not terminated_expected
        assert env.engine.budget[0] == pytest.approx(10.0 + t * (3 * cat.quality[item] - 1))
        assert obs[4 * 4 + 5] == pytest.approx(t / 20)  # time fraction
        assert obs[4 * 4 + 2] == 1.0  # episode CTR


def test_outcome_splits_clicks_into_liked_and_regretted(make_tiny_catalogue):
    base = make_tiny_catalogue(num_items=2, dim=4, num_topics=1, seed=0)
    cat = replace(base, quality=np.array([-0.9, 0.9]), appeal=np.array([10.0, 10.0]))
    env = AdvRecEnv(catalogue=cat, dynamics=Dynamics(satisfaction_noise=0.0, liked_rate=1.0, regretted_rate=1.0))
    env.reset(seed=1)
    obs, *_ = env.step(1)
    np.testing.assert_allclose(obs[0:4], cat.embeddings[1], atol=1e-6)  # liked
    np.testing.assert_array_equal(obs[4:8], 0.0)  # nothing regretted yet
    obs, _, _, _, info = env.step(0)
    assert info["satisfaction"] == pytest.approx(-0.9) and info["low_quality_clicked"]
    np.testing.assert_allclose(obs[4:8], cat.embeddings[0], atol=1e-6)  # regretted
    assert obs[16 + 3] == pytest.approx(-0.9)  # last_satisfaction


def test_rendering_ansi_and_rgb_array(v1_catalogue):
    env = AdvRecEnv(catalogue=v1_catalogue, render_mode="ansi")
    env.reset(seed=0)
    assert env.render().startswith("t=0 budget=")
    env.step(3)
    line = env.render()
    assert line.startswith("t=  1 budget=") and "item 3 (quality" in line and v1_catalogue.texts[3][:20] in line
    pic = AdvRecEnv(catalogue=v1_catalogue, render_mode="rgb_array")
    pic.reset(seed=0)
    first = pic.render()
    for _ in range(5):
        pic.step(1)
    later = pic.render()
    assert first.shape == later.shape and later.dtype == np.uint8 and later.shape[2] == 3
    assert (later != first).any()
    plain = AdvRecEnv(catalogue=v1_catalogue)
    plain.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert plain.render() is None


def test_envs_pickle_and_continue_identically(v1_catalogue):
    venv = AdvRecVectorEnv(4, catalogue=v1_catalogue)
    venv.reset(seed=2)
    venv.step(np.arange(4))
    copy = pickle.loads(pickle.dumps(venv))
    for _ in range(30):
        a = np.random.default_rng(_).integers(0, 30, 4)
        np.testing.assert_array_equal(venv.step(a)[0], copy.step(a)[0])
    env = AdvRecEnv(catalogue=v1_catalogue)
    env.reset(seed=1)
    clone = pickle.loads(pickle.dumps(env))
    for a in range(10):
        np.testing.assert_array_equal(env.step(a)[0], clone.step(a)[0])


def test_replayed_observations_are_the_envs(v1_catalogue):
    env = AdvRecEnv(catalogue=v1_catalogue, horizon=100)
    env.reset(seed=4)
    observations, items, clicks, outcomes, starts = [], [], [], [], []
    obs = np.zeros(env.observation_space.shape, dtype=np.float32)
    for episode in range(2):
        if episode:
            obs, _ = env.reset()
        for t in range(25):
            observations.append(obs)
            obs, _, term, trunc, info = env.step(t % 30)
            items.append(t % 30)
            clicks.append(info["click"])
            outcomes.append(info["satisfaction"])
            starts.append(t == 0)
            if term or trunc:
                break
    replayed = replay_observations(v1_catalogue.embeddings, items, clicks, outcomes, starts, horizon=100)
    np.testing.assert_allclose(replayed, np.array(observations), atol=1e-6)
    with pytest.raises(ValueError, match="starts\\[0\\] must be True"):
        replay_observations(v1_catalogue.embeddings, [0], [1], [0.5], [False])
    with pytest.raises(ValueError, match="items must be catalogue rows"):
        replay_observations(v1_catalogue.embeddings, [99], [1], [0.5], [True])


def test_a_fixed_population_supplies_the_interests_and_drift_keeps_their_norm(v1_catalogue):
    rng = np.random.default_rng(0)
    interests = rng.standard_normal((3, 16)) * np.array([[0.5], [1.0], [2.0]])
    population = UserPopulation(interests, weights=[0.0, 1.0, 1.0], drift_range=(0.3, 0.3))
    venv = AdvRecVectorEnv(50, catalogue=v1_catalogue, user_model=population)
    venv.reset(seed=0)
    drawn = venv.engine.users.astype(np.float64)
    matches = np.isclose(drawn[:, None, :], interests[None].astype(np.float32), atol=1e-6).all(axis=2)
    assert matches.any(axis=1).all() and not matches[:, 0].any()  # weight 0: never drawn
    norms = np.linalg.norm(drawn, axis=1)
    for _ in range(20):
        venv.step(np.zeros(50, dtype=np.int64))
    ongoing = venv.engine.t == 20
    np.testing.assert_allclose(np.linalg.norm(venv.engine.users[ongoing], axis=1), norms[ongoing], rtol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"render_mod": "ansi"}, TypeError, ["render_mod", "Did you mean 'render_mode'"]),
        ({"render_mode": "human"}, ValueError, ["render_mode", "ansi"]),
        ({"horizon": 0}, ValueError, ["horizon", "0"]),
        ({"dynamics": {"quality_gain": 2}}, TypeError, ["dynamics", "Dynamics", "dict"]),
        ({"user_model": np.zeros((3, 16))}, TypeError, ["user_model", "UserPopulation"]),
        ({"user_model": UserPopulation(np.ones((2, 5)))}, ValueError, ["dim 5", "16"]),
        ({"num_items": 10}, ValueError, ["num_items=10", "catalogue"]),
        ({"kinds": advrec_gym.ItemKinds()}, ValueError, ["kinds=", "catalogue"]),
        ({"slate_size": 31}, ValueError, ["slate_size", "31", "30"]),
    ],
)
def test_bad_kwargs_get_errors_naming_them(v1_catalogue, kwargs, error, words):
    with pytest.raises(error) as exc:
        AdvRecEnv(catalogue=v1_catalogue, **kwargs)
    for word in words:
        assert word in str(exc.value)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"dynamics": None, "catalogue_seed": -1, "catalogue": None}, ValueError, ["catalogue_seed", "-1"]),
        ({"quality_gain": -1.0}, ValueError, ["quality_gain"]),
        ({"reward": "clicks"}, ValueError, ["reward", "Did you mean 'click'"]),
        ({"shown_rate": 0.0}, ValueError, ["shown_rate"]),
    ],
)
def test_bad_settings_of_the_dynamics_and_catalogue(kwargs, error, words):
    with pytest.raises(error) as exc:
        if "catalogue" in kwargs:
            AdvRecEnv(catalogue_seed=kwargs["catalogue_seed"])
        else:
            Dynamics(**kwargs)
    for word in words:
        assert word in str(exc.value)


@pytest.mark.parametrize(
    ("seed", "error"), [(1.5, TypeError), (-1, ValueError), ("3", TypeError), ([1, 2], ValueError)]
)
def test_vector_reset_rejects_bad_seeds(v1_catalogue, seed, error):
    venv = AdvRecVectorEnv(3, catalogue=v1_catalogue)
    with pytest.raises(error, match="seed"):
        venv.reset(seed=seed)


def test_a_kernel_compile_failure_is_a_clear_error_not_a_numba_traceback(v1_catalogue, monkeypatch):
    from numba.core.errors import TypingError

    def broken(*args):
        raise TypingError("Failed in nopython mode pipeline (step: nopython frontend)\nlong traceback...")

    env = AdvRecEnv(catalogue=v1_catalogue)
    env.reset(seed=0)
    monkeypatch.setattr(K, "step", broken)
    with pytest.raises(RuntimeError, match="failed to compile with numba") as exc:
        env.step(0)
    assert "NUMBA_DISABLE_JIT=1" in str(exc.value) and exc.value.__cause__ is None


def test_stepping_before_reset_is_an_error(v1_catalogue):
    with pytest.raises(gym.error.ResetNeeded):
        AdvRecEnv(catalogue=v1_catalogue).step(0)
    with pytest.raises(RuntimeError, match="reset"):
        AdvRecVectorEnv(2, catalogue=v1_catalogue).step(np.zeros(2, dtype=np.int64))


def test_choice_probability_matches_the_formula(make_tiny_catalogue):
    # one item, no fatigue at the first step: P(click) = sigmoid((<u, e> + appeal - a0) / tau)
    base = make_tiny_catalogue(num_items=3, dim=8, num_topics=1, seed=2)
    cat = replace(base, appeal=np.array([0.05, -0.02, 0.1]))
    choice = LogitChoice(temperature=0.2)
    venv = AdvRecVectorEnv(4000, catalogue=cat, choice_model=choice)
    venv.reset(seed=0)
    users = venv.engine.users.astype(np.float64)
    v = (users @ cat.user_embeddings[2] + 0.1 - choice.no_click_affinity) / 0.2
    expected = 1.0 / (1.0 + np.exp(-v))
    np.testing.assert_allclose(venv.engine.click_probabilities()[:, 2], expected, rtol=1e-4)
    _, _, _, _, info = venv.step(np.full(4000, 2))
    # the mean of 4000 draws within 4 standard errors of the mean probability
    assert abs(info["click"].mean() - expected.mean()) < 4 * np.sqrt(expected.mean() * (1 - expected.mean()) / 4000)
