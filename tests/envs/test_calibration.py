"""Calibration of simulated users to ratings: the objective, the fit, the fold-in, quality, the cache."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from advrec_gym import LogitChoice
from advrec_gym.cache import CacheWarning
from advrec_gym.calibration import (
    CalibrationConfig,
    calibrate,
    click_logits,
    fit_users,
    fold_in,
    item_quality,
    like_matrix,
)
from advrec_gym.movielens import load_movielens, split_users

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "ml-100k-mini"


def _two_tastes(num_users: int = 40, seed: int = 0):
    """12 items in 3-d: 6 near +x, 6 near -x (both with +z); half the users like the +x items, half the -x."""
    rng = np.random.default_rng(seed)
    side = np.repeat([1.0, -1.0], 6)
    emb = np.stack([side, 0.2 * rng.standard_normal(12), np.ones(12)], axis=1)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    taste = np.repeat([1.0, -1.0], num_users // 2)
    liked = np.zeros((num_users, 12), dtype=bool)
    for u in range(num_users):
        mine = np.flatnonzero(side == taste[u])
        liked[u, rng.choice(mine, size=4, replace=False)] = True
    rated = liked.copy()
    for u in range(num_users):  # one rated-but-not-liked item of the other side each
        rated[u, rng.choice(np.flatnonzero(side != taste[u]))] = True
    return emb.astype(np.float32), liked, rated, taste, side


def test_the_objective_at_the_start_by_hand():
    # The mean interest starts with <mean, centre> = a0 and the appeal at 0; the deviations start at
    # 1e-3 * N(0, 1) from the seeded generator. With one item (its embedding is the centre) user u's
    # logit is (<mean + dev_u, e> - a0) / tau = <dev_u, e> / 0.1, and both ratings weigh 1, so the
    # objective is (softplus(-z_1) + softplus(z_2) + l2_user * |dev|^2) / 2 (about log 2 = 0.693).
    import torch

    emb = np.array([[0.6, 0.8]], dtype=np.float32)
    liked = np.array([[True], [False]])
    rated = np.array([[True], [True]])
    config = CalibrationConfig(steps=1, lr=1e-9)
    fit = fit_users(liked, rated, emb, user_ids=np.array([1, 2]), config=config)
    dev = (1e-3 * torch.randn(2, 2, generator=torch.Generator().manual_seed(config.seed))).numpy().astype(np.float64)
    z = dev @ emb[0] / 0.1
    expected = (np.logaddexp(0, -z[0]) + np.logaddexp(0, z[1]) + config.l2_user * (dev**2).sum()) / 2
    assert fit.loss == pytest.approx(expected, abs=1e-6)
    assert abs(fit.loss - math.log(2)) < 0.01
    assert float(fit.mean_interest @ emb[0]) == pytest.approx(0.5, abs=1e-5)


def test_fit_separates_the_tastes():
    emb, liked, rated, taste, side = _two_tastes()
    fit = fit_users(liked, rated, emb, user_ids=np.arange(40), config=CalibrationConfig(l2_user=1.0, steps=300))
    p = 1.0 / (1.0 + np.exp(-click_logits(fit.interests, emb, fit.appeal, LogitChoice())))
    mine = side[None, :] == taste[:, None]
    # every user clicks their side's items more than the other side's
    assert np.all(p[mine].reshape(40, 6).min(axis=1) > p[~mine].reshape(40, 6).max(axis=1))
    assert np.mean(p[mine]) > 0.3 and np.mean(p[~mine]) < 0.1
    # the interests point to their side: the x coordinate has the taste's sign
    assert np.all(np.sign(fit.interests[:, 0]) == taste)


def test_same_seed_same_fit_and_the_l2_shrinks():
    emb, liked, rated, *_ = _two_tastes()
    a = fit_users(liked, rated, emb, user_ids=np.arange(40), config=CalibrationConfig(steps=50))
    b = fit_users(liked, rated, emb, user_ids=np.arange(40), config=CalibrationConfig(steps=50))
    np.testing.assert_array_equal(a.interests, b.interests)
    np.testing.assert_array_equal(a.appeal, b.appeal)
    strong = fit_users(liked, rated, emb, user_ids=np.arange(40), config=CalibrationConfig(steps=50, l2_user=1000.0))
    spread = np.linalg.norm(a.interests - a.mean_interest, axis=1).mean()
    assert np.linalg.norm(strong.interests - strong.mean_interest, axis=1).mean() < 0.2 * spread


def test_fold_in_keeps_the_items_and_learns_the_new_users():
    emb, liked, rated, taste, side = _two_tastes(num_users=40)
    train = fit_users(liked[:30], rated[:30], emb, user_ids=np.arange(30), config=CalibrationConfig(l2_user=1.0))
    new = fold_in(liked[30:], rated[30:], emb, train, user_ids=np.arange(30, 40), config=CalibrationConfig(l2_user=1.0))
    np.testing.assert_array_equal(new.appeal, train.appeal)
    np.testing.assert_array_equal(new.mean_interest, train.mean_interest)
    assert np.all(np.sign(new.interests[:, 0]) == taste[30:])


def test_fit_rejects_inconsistent_inputs():
    emb, liked, rated, *_ = _two_tastes()
    with pytest.raises(ValueError, match="must agree"):
        fit_users(liked, rated[:, :5], emb, user_ids=np.arange(40))
    with pytest.raises(ValueError, match="liked implies rated"):
        fit_users(liked, np.zeros_like(rated), emb, user_ids=np.arange(40))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"like_threshold": 6}, "like_threshold"), ({"negatives": 0}, "negatives"), ({"steps": 0}, "steps")],
)
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CalibrationConfig(**kwargs)


# --- targets from the MovieLens fixture ---------------------------------------


def test_like_matrix_and_quality_by_hand():
    data = load_movielens(MINI)
    users = np.array([1, 2])
    liked, rated = like_matrix(data, users, 4)
    for k, u in enumerate(users):
        mine = data.users == u
        assert set(np.flatnonzero(rated[k])) == set(data.rows[mine].tolist())
        assert set(np.flatnonzero(liked[k])) == set(data.rows[mine & (data.ratings >= 4)].tolist())
    q = item_quality(data, users, prior=2.0, scale=0.5)
    keep = np.isin(data.users, users)
    g = data.ratings[keep].mean()
    row = int(data.rows[keep][0])
    r = data.ratings[keep][data.rows[keep] == row]
    # q = clip(((sum r + 2 g) / (n + 2) - g) / 0.5, -1, 1)
    assert q[row] == pytest.approx(np.clip(((r.sum() + 2 * g) / (r.size + 2) - g) / 0.5, -1, 1), abs=1e-6)
    unrated = np.setdiff1d(np.arange(data.num_items), data.rows[keep])
    assert np.all(q[unrated] == 0.0)
    assert q.dtype == np.float32 and np.all(np.abs(q) <= 1.0)


# --- calibrate: the split, the cache ------------------------------------------


@pytest.fixture
def mini_embeddings():
    data = load_movielens(MINI)
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((data.num_items, 8)).astype(np.float32)
    return data, emb / np.linalg.norm(emb, axis=1, keepdims=True)


def test_calibrate_splits_by_user_and_uses_training_users_only(tmp_path, mini_embeddings):
    data, emb = mini_embeddings
    config = CalibrationConfig(steps=30, fold_in_steps=20)
    cal = calibrate(data, emb, test_fraction=0.25, split_seed=0, config=config, cache_dir=tmp_path)
    train, test = split_users(data.user_ids(), 0.25, 0)
    np.testing.assert_array_equal(cal.train.user_ids, train)
    np.testing.assert_array_equal(cal.test_user_ids, test)
    assert cal.interests("train").shape == (len(train), 8) and cal.interests("test").shape == (len(test), 8)
    np.testing.assert_array_equal(cal.quality, item_quality(data, train))
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        cal.interests("validation")


def test_calibrate_reads_its_cache_and_rebuilds_a_corrupt_one(tmp_path, mini_embeddings, monkeypatch):
    import advrec_gym.calibration as calibration

    data, emb = mini_embeddings
    config = CalibrationConfig(steps=20, fold_in_steps=10)
    first = calibrate(data, emb, config=config, cache_dir=tmp_path)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].name.startswith("calibration-") and files[0].suffix == ".npz"

    def no_fit(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    with monkeypatch.context() as m:
        m.setattr(calibration, "fit_users", no_fit)
        again = calibrate(data, emb, config=config, cache_dir=tmp_path)
    for name in ("interests", "appeal", "mean_interest", "user_ids"):
        np.testing.assert_array_equal(getattr(again.train, name), getattr(first.train, name))
    np.testing.assert_array_equal(again.test_interests, first.test_interests)
    np.testing.assert_array_equal(again.quality, first.quality)
    # another setting is another key, another file
    calibrate(data, emb, config=CalibrationConfig(steps=21, fold_in_steps=10), cache_dir=tmp_path)
    assert len(list(tmp_path.iterdir())) == 2
    # a corrupt file: warned about, deleted, fitted again (never trusted)
    files[0].write_bytes(files[0].read_bytes()[:100])
    with pytest.warns(CacheWarning, match="unreadable"):
        rebuilt = calibrate(data, emb, config=config, cache_dir=tmp_path)
    np.testing.assert_array_equal(rebuilt.train.interests, first.train.interests)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        calibrate(data, emb, config=config, cache_dir=tmp_path)  # rewritten: reads cleanly
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]


def test_a_tampered_cache_is_refitted(tmp_path, mini_embeddings):
    data, emb = mini_embeddings
    config = CalibrationConfig(steps=20, fold_in_steps=10)
    first = calibrate(data, emb, config=config, cache_dir=tmp_path)
    path = next(tmp_path.iterdir())
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: np.array(z[k]) for k in z.files}
    arrays["appeal"] = arrays["appeal"] + 1.0
    np.savez(path, **arrays)
    with pytest.warns(CacheWarning, match="checksum"):
        again = calibrate(data, emb, config=config, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.appeal, first.appeal)


def test_calibrate_checks_the_embeddings(mini_embeddings):
    data, emb = mini_embeddings
    with pytest.raises(ValueError, match="one row per catalogue row"):
        calibrate(data, emb[:5], use_cache=False)
