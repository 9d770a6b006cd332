"""LinUCB over embedding projections: hand-computed features and updates, learning, determinism, errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from argmax_helpers import check_the_suite_moves_an_argmax_policy, own_rollout_observations

import advrec_gym  # noqa: F401  (registers AdvRec-v0)
from advrec_gym.evaluation import evaluate
from agents.bandits import NUM_FEATURES, LinUCBPolicy
from agents.baselines import RandomPolicy

# Three items in 2-d: e0 = (1, 0), e1 = (0, 1), e2 = (0.6, 0.8).
EMB = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], dtype=np.float32)


def _obs(clicked, skipped, shown) -> np.ndarray:
    """An AdvRec observation for dim 2: [clicked | skipped | shown | 3 scalars]."""
    return np.array([[*clicked, *skipped, *shown, 0.0, 0.0, 0.0]], dtype=np.float32)


def test_features_are_the_hand_computed_projections():
    bandit = LinUCBPolicy(EMB, seed=0)
    obs = _obs(clicked=(1.0, 0.0), skipped=(0.0, 1.0), shown=(0.5, 0.5))
    x = bandit.features(obs)
    assert x.shape == (1, 3, NUM_FEATURES)
    # item 0 = (1, 0): <c,e>=1, <s,e>=0, <r,e>=0.5, <r,e>^2=0.25, bias 1
    np.testing.assert_allclose(x[0, 0], [1.0, 0.0, 0.5, 0.25, 1.0])
    # item 2 = (0.6, 0.8): <c,e>=0.6, <s,e>=0.8, <r,e>=0.3+0.4=0.7, 0.49, 1
    np.testing.assert_allclose(x[0, 2], [0.6, 0.8, 0.7, 0.49, 1.0], rtol=1e-6)


def test_on_v1_the_features_read_the_liked_skipped_and_shown_blocks():
    # AdvRec-v1's observation for dim 2: [liked | regretted | skipped | shown | 6 scalars] (4 * 2 + 6 = 14)
    bandit = LinUCBPolicy(EMB, seed=0)
    obs = np.array([[1.0, 0.0, 0.9, 0.9, 0.0, 1.0, 0.5, 0.5, *([0.3] * 6)]], dtype=np.float32)
    # the same numbers as the v0 test above: the regretted block (0.9, 0.9) does not enter
    np.testing.assert_allclose(bandit.features(obs)[0, 0], [1.0, 0.0, 0.5, 0.25, 1.0])
    np.testing.assert_allclose(bandit.features(obs)[0, 2], [0.6, 0.8, 0.7, 0.49, 1.0], rtol=1e-6)


def test_on_a_v1_env_the_shown_feature_is_the_shown_block(tiny_catalogue):
    from advrec_gym import kernel as K

    venv = gym.make_vec("AdvRec-v1", num_envs=4, vectorization_mode="vector_entry_point", catalogue=tiny_catalogue)
    obs, _ = venv.reset(seed=0)
    for a in (0, 1, 2):
        obs, *_ = venv.step(np.full(4, a))
    d, emb = tiny_catalogue.dim, tiny_catalogue.embeddings
    x = LinUCBPolicy(emb, seed=0).features(obs)
    shown = obs[:, K.SHOWN * d : (K.SHOWN + 1) * d]
    assert np.abs(shown).sum() > 0
    np.testing.assert_allclose(x[..., 2], shown @ emb.T, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x[..., 1], obs[:, K.SKIPPED * d : (K.SKIPPED + 1) * d] @ emb.T, rtol=1e-5, atol=1e-6)


def test_one_update_matches_sherman_morrison():
    bandit = LinUCBPolicy(EMB, ridge=1.0, seed=0)
    obs = _obs(clicked=(1.0, 0.0), skipped=(0.0, 1.0), shown=(0.5, 0.5))
    bandit.update(obs, np.array([0]), np.array([1.0]))
    # x = [1, 0, 0.5, 0.25, 1], |x|^2 = 1 + 0.25 + 0.0625 + 1 = 2.3125;
    # theta = (I + x x^T)^-1 x * r = x / (1 + |x|^2) = x / 3.3125
    x = np.array([1.0, 0.0, 0.5, 0.25, 1.0])
    np.testing.assert_allclose(bandit.theta, x / 3.3125, rtol=1e-9)
    assert bandit.num_updates == 1
    # UCB width of that same x: sqrt(x^T A^-1 x) = sqrt(|x|^2 / (1 + |x|^2)) = sqrt(2.3125 / 3.3125)
    ucb = bandit.scores(obs)[0, 0]
    mean = bandit.scores(obs, optimistic=False)[0, 0]
    assert mean == pytest.approx(2.3125 / 3.3125)
    assert ucb - mean == pytest.approx(np.sqrt(2.3125 / 3.3125))


def test_predict_is_the_argmax_of_the_scores():
    bandit = LinUCBPolicy(EMB, alpha=0.0, seed=0)
    bandit.b = np.array([1.0, 0.0, 0.0, 0.0, 0.0])  # theta ~ weight on the clicked similarity only
    bandit.A = np.eye(NUM_FEATURES)
    bandit._refresh()
    obs = np.concatenate([_obs((0.0, 1.0), (0, 0), (0, 0)), _obs((1.0, 0.0), (0, 0), (0, 0))])
    actions, _ = bandit.predict(obs, deterministic=True)
    # first user clicked e1 = (0, 1): scores <c, e> = [0, 1, 0.8] -> item 1; second: [1, 0, 0.6] -> item 0
    assert actions.tolist() == [1, 0]
    single, _ = bandit.predict(obs[0])
    assert single.shape == () and int(single) == 1


def test_slate_is_the_top_k_in_score_order():
    bandit = LinUCBPolicy(EMB, alpha=0.0, slate_size=2, seed=0)
    bandit.b = np.array([1.0, 0.0, 0.0, 0.0, 0.0])
    bandit._refresh()
    actions, _ = bandit.predict(_obs((0.0, 1.0), (0, 0), (0, 0)))
    assert actions.tolist() == [[1, 2]]  # scores [0, 1, 0.8]
    with pytest.raises(ValueError, match="clicked_items"):
        bandit.update(_obs((0, 1), (0, 0), (0, 0)), actions, np.array([1.0]))
    bandit.update(_obs((0, 1), (0, 0), (0, 0)), actions, np.array([1.0]), clicked_items=np.array([2]))
    # only the clicked item (2) gets the reward: b gains x(item 2) * 1 = [0.8, 0, 0, 0, 1]
    np.testing.assert_allclose(bandit.b, [1.0 + 0.8, 0.0, 0.0, 0.0, 1.0], rtol=1e-6)


def test_ties_are_broken_by_the_seeded_generator():
    obs = np.zeros((200, 9), dtype=np.float32)  # empty history: every item scores the same
    a1, _ = LinUCBPolicy(EMB, seed=3).predict(obs)
    a2, _ = LinUCBPolicy(EMB, seed=3).predict(obs)
    np.testing.assert_array_equal(a1, a2)
    assert set(np.unique(a1)) == {0, 1, 2}  # not always the first item


def _venv(tiny_catalogue, num_envs=8):
    return gym.make_vec(
        "AdvRec-v0", num_envs=num_envs, vectorization_mode="vector_entry_point", catalogue=tiny_catalogue
    )


def test_learns_to_beat_random_and_is_reproducible(tiny_catalogue):
    venv = _venv(tiny_catalogue)
    bandit = LinUCBPolicy(tiny_catalogue.embeddings, seed=0).learn(venv, total_steps=3000, seed=0)
    again = LinUCBPolicy(tiny_catalogue.embeddings, seed=0).learn(_venv(tiny_catalogue), total_steps=3000, seed=0)
    np.testing.assert_array_equal(bandit.A, again.A)
    np.testing.assert_array_equal(bandit.b, again.b)
    assert bandit.num_updates == 3000  # 375 steps x 8 users
    assert bandit.theta[0] > 0  # items like the clicked ones are clicked more
    learned = evaluate(venv, bandit, episodes=64, seed=10_000, deterministic=True).mean_return
    random = evaluate(venv, RandomPolicy(tiny_catalogue.num_items, seed=0), episodes=64, seed=10_000).mean_return
    assert learned > 1.3 * random, (learned, random)


def test_save_and_load_give_the_same_scores(tmp_path, tiny_catalogue):
    venv = _venv(tiny_catalogue)
    bandit = LinUCBPolicy(tiny_catalogue.embeddings, alpha=0.5, seed=0).learn(venv, total_steps=400, seed=0)
    bandit.save(tmp_path / "bandit.npz")
    loaded = LinUCBPolicy.load(tmp_path / "bandit.npz", tiny_catalogue.embeddings, seed=0)
    obs, _ = venv.reset(seed=5)
    np.testing.assert_array_equal(loaded.scores(obs), bandit.scores(obs))
    assert loaded.alpha == 0.5 and loaded.num_updates == bandit.num_updates


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"alpha": -1.0}, "alpha"), ({"ridge": 0.0}, "ridge"), ({"slate_size": 4}, "slate_size")],
)
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LinUCBPolicy(EMB, **kwargs)


def test_bad_observation_shape_is_an_error():
    with pytest.raises(ValueError, match="three embedding averages"):
        LinUCBPolicy(EMB).predict(np.zeros((2, 4), dtype=np.float32))


# ---------------------------------------------------------------------------------------------- what attacks see
@pytest.fixture(scope="module")
def learned(tiny_catalogue):
    """(bandit trained 2,000 steps on the tiny env, 64 observations of its own rollouts)."""
    from advrec_gym.v0 import AdvRecVectorEnv

    venv = AdvRecVectorEnv(8, catalogue=tiny_catalogue, max_episode_steps=20)
    bandit = LinUCBPolicy(tiny_catalogue.embeddings, seed=0).learn(venv, 2000, seed=0)
    return bandit, own_rollout_observations(bandit, venv)


def test_the_torch_view_scores_are_linucbs_scores_and_differentiable(learned):
    import torch

    bandit, obs = learned
    view = bandit.gradient_policy
    # equal to float32 rounding of the products (torch's and numpy's sums run in different orders: measured 2e-7)
    np.testing.assert_allclose(view.scores(torch.as_tensor(obs)).numpy(), bandit.scores(obs), rtol=0, atol=1e-6)
    x = torch.as_tensor(obs[:4], dtype=torch.float64).requires_grad_(True)
    assert torch.autograd.gradcheck(view.scores, (x,), eps=1e-6, atol=1e-6)
    assert list(view.parameters()) == []  # the statistics are buffers: attacks cannot change them
    # its greedy item, and that of action_scores, is the UCB rule's (predict's sampled mode)
    greedy = view.get_distribution(torch.as_tensor(obs)).mode().numpy()
    np.testing.assert_array_equal(greedy, bandit.predict(obs)[0])
    np.testing.assert_array_equal(bandit.action_scores(obs).argmax(axis=1), bandit.predict(obs)[0])


def test_white_box_and_query_attacks_apply_to_linucb_and_move_its_ucb_choice(learned):
    bandit, obs = learned
    theta, a_inv = bandit.theta.copy(), bandit.A_inv.copy()
    check_the_suite_moves_an_argmax_policy(bandit, obs)
    # the attacks never touched the bandit's statistics
    np.testing.assert_array_equal(bandit.theta, theta)
    np.testing.assert_array_equal(bandit.A_inv, a_inv)
