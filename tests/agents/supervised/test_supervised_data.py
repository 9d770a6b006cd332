"""Click data: env logs with propensities, MovieLens replay, and the split by user (no leakage)."""

from __future__ import annotations

import numpy as np
import pytest

from advrec_gym import Catalogue
from advrec_gym.v0.engine import HistoryRates
from agents.supervised.data import (
    ClickData,
    SharedRows,
    Splits,
    _update_history,
    collect_env_logs,
    from_movielens_ratings,
    make_log_env,
    replay_history,
    sample_unrated,
    split_by_user,
    split_users,
)


def test_env_logs_record_propensities_and_users(cat30, logs30):
    assert len(logs30) == 1500
    assert logs30.obs_dim == 3 * cat30.dim + 3
    # uniform logging: P(item) = 1 / 30 for every example
    np.testing.assert_allclose(logs30.propensities, 1.0 / 30)
    # every user (episode) starts with an empty history: its first observation is all zeros
    first = np.unique(logs30.users, return_index=True)[1]
    assert logs30.num_users > 16  # episodes ended and new users took their slots
    assert np.all(logs30.observations[first] == 0.0)
    # a click of the previous step shows up as last_click = 1 in the next observation of that user
    d = cat30.dim
    for user in np.unique(logs30.users)[:10]:
        rows = np.flatnonzero(logs30.users == user)
        np.testing.assert_array_equal(logs30.observations[rows[1:], 3 * d], logs30.clicks[rows[:-1]])


def test_popularity_logs_use_the_prior_as_propensity(cat30):
    data = collect_env_logs(make_log_env(cat30, 8), steps=200, policy="popularity", seed=3)
    np.testing.assert_allclose(data.propensities, cat30.popularity[data.items])
    again = collect_env_logs(make_log_env(cat30, 8), steps=200, policy="popularity", seed=3)
    np.testing.assert_array_equal(data.items, again.items)
    np.testing.assert_array_equal(data.clicks, again.clicks)


def test_unknown_logging_policy_suggests(cat30):
    with pytest.raises(ValueError, match="Did you mean 'popularity'"):
        collect_env_logs(make_log_env(cat30, 2), steps=10, policy="populr")


def test_split_by_user_has_no_leakage(logs30):
    splits = split_by_user(logs30, (0.6, 0.2, 0.2), seed=1)
    users = [set(np.unique(getattr(splits, s).users)) for s in ("train", "validation", "test")]
    assert users[0].isdisjoint(users[1]) and users[0].isdisjoint(users[2]) and users[1].isdisjoint(users[2])
    assert sum(len(getattr(splits, s)) for s in ("train", "validation", "test")) == len(logs30)
    assert set.union(*users) == set(np.unique(logs30.users))
    n = logs30.num_users
    assert len(users[1]) == round(0.2 * n) and len(users[2]) == round(0.2 * n)


def test_a_user_in_two_splits_is_an_error(splits30):
    leaked = ClickData.concatenate([splits30.validation, splits30.train.subset(np.arange(3))])
    with pytest.raises(ValueError, match=r"user \d+ is in both the train and the validation split"):
        Splits(splits30.train, leaked, splits30.test)


def test_empty_split_is_an_error(splits30):
    empty = splits30.test.subset(np.zeros(0, dtype=np.int64))
    with pytest.raises(ValueError, match="the test split is empty"):
        Splits(splits30.train, splits30.validation, empty)


def test_too_few_users_to_split(logs30):
    two_users = logs30.subset(np.flatnonzero(logs30.users < 2))
    with pytest.raises(ValueError, match="at least 3 users, got 2"):
        split_by_user(two_users)
    with pytest.raises(ValueError, match="sum to 1"):
        split_users(logs30, (0.5, 0.2))


def test_bad_click_data_is_rejected():
    obs = np.zeros((2, 9), dtype=np.float32)
    with pytest.raises(ValueError, match="clicks must be 0 or 1"):
        ClickData(obs, [0, 1], [0, 2], [0, 0], [0.5, 0.5])
    with pytest.raises(ValueError, match="items must have shape"):
        ClickData(obs, [0], [0, 1], [0, 0], [0.5, 0.5])


@pytest.fixture(scope="module")
def movielens_catalogue(sup_cache_dir, movielens_mini):
    return Catalogue.from_movielens(movielens_mini, cache_dir=sup_cache_dir)


@pytest.mark.slow
def test_movielens_ratings_become_clicks_and_negatives(movielens_catalogue, movielens_mini):
    from advrec_gym.movielens import load_movielens

    ratings = load_movielens(movielens_mini)  # the placeholder's 5 ratings are left out: 55 remain
    data = from_movielens_ratings(movielens_mini, movielens_catalogue, negatives=2, seed=0)
    # each rating, then up to 2 items its user had not rated by then (11 films; a user's t-th rating
    # leaves 11 - t unrated ones)
    position = np.concatenate([np.arange((ratings.users == u).sum()) for u in np.unique(ratings.users)])
    assert len(data) == int(sum(1 + min(2, 11 - (t + 1)) for t in position))
    assert data.clicks.sum() == (ratings.ratings >= 4).sum()
    assert np.all(np.isnan(data.propensities))
    assert isinstance(data.observations, SharedRows) and data.observations.base.shape[0] == ratings.num_ratings


@pytest.mark.slow
def test_movielens_negatives_use_no_future(movielens_catalogue, movielens_mini):
    """A negative is never an item its user had rated by then; items they rate later may be negatives."""
    from advrec_gym.movielens import load_movielens

    ratings = load_movielens(movielens_mini)
    data = from_movielens_ratings(movielens_mini, movielens_catalogue, negatives=3, seed=1)
    event = data.observations.index  # the rating each example belongs to
    later = 0
    for k in np.flatnonzero(data.clicks == 0):
        e = event[k]
        if data.items[k] == ratings.rows[e] and k == np.flatnonzero(event == e)[0]:
            continue  # the rating itself (a non-like)
        user = ratings.users[e]
        mine = np.flatnonzero(ratings.users == user)
        so_far = ratings.rows[mine[mine <= e]]
        assert data.items[k] not in so_far
        later += data.items[k] in ratings.rows[mine[mine > e]]
    assert later > 0  # with the old "never rated" rule there would be none
    # negatives of one rating are distinct
    for e in np.unique(event):
        shown = data.items[event == e]
        assert len(set(shown[1:].tolist())) == len(shown) - 1
    again = from_movielens_ratings(movielens_mini, movielens_catalogue, negatives=3, seed=1)
    np.testing.assert_array_equal(again.items, data.items)


def test_sample_unrated_when_almost_everything_is_rated():
    rng = np.random.default_rng(0)
    items = np.array([0, 1, 2, 3, 4, 2, 0])
    starts = np.array([True, False, False, False, False, True, False])
    sampled, valid = sample_unrated(items, starts, 5, 3, rng)
    # the first user's events leave 4, 3, 2, 1, 0 unrated items; the second user's 4, 3
    np.testing.assert_array_equal(valid.sum(axis=1), [3, 3, 2, 1, 0, 3, 3])
    assert set(sampled[3, :1].tolist()) == {4}  # after rating 0..3 only item 4 is left
    assert set(sampled[2, :2].tolist()) == {3, 4}
    for k, (row, ok) in enumerate(zip(sampled, valid, strict=True)):
        first = 0 if k < 5 else 5
        assert not set(row[ok].tolist()) & set(items[first : k + 1].tolist())


@pytest.mark.slow
def test_movielens_history_follows_the_env_update(movielens_catalogue, movielens_mini):
    from advrec_gym.movielens import load_movielens

    ratings = load_movielens(movielens_mini)
    data = from_movielens_ratings(movielens_mini, movielens_catalogue, negatives=0)
    d = movielens_catalogue.dim
    user = int(ratings.users[0])
    rows = np.flatnonzero(data.users == user)
    assert np.all(data.observations[rows[0]] == 0.0)  # nothing seen yet
    e = movielens_catalogue.embeddings[ratings.rows[0]]
    click = float(ratings.ratings[0] >= 4)
    obs = data.observations[rows[1]]
    # after one rating: shown = 0.5 e; clicked (or skipped) = 0.3 e; scalars (click, 0.3 click, click / 1)
    np.testing.assert_allclose(obs[2 * d : 3 * d], 0.5 * e, atol=1e-6)
    np.testing.assert_allclose(obs[0:d] if click else obs[d : 2 * d], 0.3 * e, atol=1e-6)
    np.testing.assert_allclose(obs[3 * d :], [click, 0.3 * click, click], atol=1e-6)


def test_replay_is_the_env_update_bit_for_bit():
    """The compiled replay against the readable one-step update applied event by event."""
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((7, 5)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    items = rng.integers(0, 7, size=40)
    clicks = (rng.random(40) < 0.4).astype(np.float32)
    starts = np.zeros(40, dtype=bool)
    starts[[0, 9, 10, 31]] = True
    rates = HistoryRates(clicked=0.25, skipped=0.35, shown=0.45, click_rate=0.2)
    got = replay_history(emb, items, clicks, starts, rates)
    state = np.zeros(3 * 5 + 3, dtype=np.float32)
    t = seen = 0
    for k in range(40):
        if starts[k]:
            state[:], t, seen = 0.0, 0, 0
        np.testing.assert_array_equal(got[k], state)
        _update_history(state, emb[items[k]], clicks[k], 5, rates)
        t, seen = t + 1, seen + int(clicks[k])
        state[3 * 5 + 2] = seen / t
    with pytest.raises(ValueError, match="starts\\[0\\] must be True"):
        replay_history(emb, items, clicks, ~starts, rates)


@pytest.mark.slow
def test_v1_observation_is_the_kernels_replay(movielens_catalogue, movielens_mini):
    from advrec_gym.engine import replay_observations
    from advrec_gym.movielens import load_movielens

    ratings = load_movielens(movielens_mini)
    data = from_movielens_ratings(movielens_mini, movielens_catalogue, negatives=1, observation="v1")
    d = movielens_catalogue.dim
    assert data.obs_dim == 4 * d + 6
    starts = np.concatenate([[True], ratings.users[1:] != ratings.users[:-1]])
    expected = replay_observations(
        movielens_catalogue.embeddings,
        ratings.rows,
        (ratings.ratings >= 4).astype(np.float32),
        (ratings.ratings - 3.0) / 2.0,
        starts,
    )
    np.testing.assert_array_equal(data.observations.base, expected)


def test_shared_rows_index_subset_and_concatenate():
    base = np.arange(12, dtype=np.float32).reshape(4, 3)
    rows = SharedRows(base, np.array([0, 0, 2, 3, 3, 1]))
    assert rows.shape == (6, 3) and len(rows) == 6
    np.testing.assert_array_equal(rows[2], base[2])
    np.testing.assert_array_equal(rows[[0, 5]], base[[0, 1]])
    np.testing.assert_array_equal(rows[np.array([True, False, False, False, False, True])], base[[0, 1]])
    np.testing.assert_array_equal(np.asarray(rows), base[[0, 0, 2, 3, 3, 1]])
    data = ClickData(rows, np.arange(6), np.zeros(6), [1, 1, 2, 2, 2, 3], np.full(6, np.nan))
    part = data.subset(np.array([1, 4]))
    assert part.observations.base is base  # a subset shares the storage
    np.testing.assert_array_equal(part.observations[:], base[[0, 3]])
    both = ClickData.concatenate([part, data.subset(np.array([5]))])
    np.testing.assert_array_equal(both.observations[:], base[[0, 3, 1]])
    with pytest.raises(ValueError, match="index must lie"):
        SharedRows(base, np.array([4]))


def test_movielens_ids_must_match_the_catalogue(movielens_mini):
    five = Catalogue.from_embeddings(np.eye(5), topics=["a"] * 5)  # ids 0..4; the fixture's films are 1..12
    with pytest.raises(ValueError, match="Catalogue.from_movielens"):
        from_movielens_ratings(movielens_mini, five)
