"""Click data: env logs with propensities, MovieLens replay, and the split by user (no leakage)."""

from __future__ import annotations

import numpy as np
import pytest

from advrec_gym import Catalogue
from agents.supervised.data import (
    ClickData,
    Splits,
    collect_env_logs,
    from_movielens_ratings,
    make_log_env,
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
    from advrec_gym.movielens import read_ratings

    ratings = read_ratings(movielens_mini / "u.data")
    data = from_movielens_ratings(movielens_mini, movielens_catalogue, negatives=2, seed=0)
    # 60 ratings, each with at most 2 never-rated items as non-clicks
    rated_by = {int(u): set(ratings.items[ratings.users == u].tolist()) for u in np.unique(ratings.users)}
    expected = sum(1 + min(2, 12 - len(rated_by[int(u)])) for u in ratings.users)
    assert len(data) == expected
    assert data.clicks.sum() == (ratings.ratings >= 4).sum()
    assert np.all(np.isnan(data.propensities))
    ids = movielens_catalogue.ids
    for row in np.flatnonzero(data.clicks == 0)[:40]:
        user, movie = int(data.users[row]), int(ids[data.items[row]])
        if movie not in rated_by[user]:  # a sampled negative: never rated by this user
            continue
        # otherwise a rating below 4 of that movie by that user
        mask = (ratings.users == user) & (ratings.items == movie)
        assert ratings.ratings[mask].min() < 4


@pytest.mark.slow
def test_movielens_history_follows_the_env_update(movielens_catalogue, movielens_mini):
    from advrec_gym.movielens import read_ratings

    ratings = read_ratings(movielens_mini / "u.data")
    data = from_movielens_ratings(movielens_mini, movielens_catalogue, negatives=0)
    d = movielens_catalogue.dim
    user = int(ratings.users[0])
    k = np.flatnonzero(ratings.users == user)
    first = k[np.lexsort((k, ratings.timestamps[k]))[0]]
    rows = np.flatnonzero(data.users == user)
    assert np.all(data.observations[rows[0]] == 0.0)  # nothing seen yet
    e = movielens_catalogue.embeddings[list(movielens_catalogue.ids).index(int(ratings.items[first]))]
    click = float(ratings.ratings[first] >= 4)
    obs = data.observations[rows[1]]
    # after one rating: shown = 0.5 e; clicked (or skipped) = 0.3 e; scalars (click, 0.3 click, click / 1)
    np.testing.assert_allclose(obs[2 * d : 3 * d], 0.5 * e, atol=1e-6)
    np.testing.assert_allclose(obs[0:d] if click else obs[d : 2 * d], 0.3 * e, atol=1e-6)
    np.testing.assert_allclose(obs[3 * d :], [click, 0.3 * click, click], atol=1e-6)


def test_movielens_ids_must_match_the_catalogue(movielens_mini):
    five = Catalogue.from_embeddings(np.eye(5), topics=["a"] * 5)  # ids 0..4; the fixture rates ids up to 12
    with pytest.raises(ValueError, match="Catalogue.from_movielens"):
        from_movielens_ratings(movielens_mini, five)
