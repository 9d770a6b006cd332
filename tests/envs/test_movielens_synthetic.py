"""The synthetic full-size ml-100k set: the real set's sizes, heavy tails and quirks, and learnable ratings.

The real numbers these bands are drawn around: 1,682 movies, 943 users with >= 20 ratings each,
100,000 ratings, 55% of them >= 4, rating counts per movie with Gini 0.63 and 43% held by the top 10%
of movies, 18 films listed twice (1,269 ratings; 307 users rated both copies), placeholder movie 267.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from advrec_gym.movielens import GENRES, load_movielens, read_items, read_ratings
from advrec_gym.movielens_synthetic import build_files, generate_movielens
from benchmarks.fidelity_baselines import gini, top_share


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return generate_movielens(tmp_path_factory.mktemp("synthetic") / "ml-100k", seed=0)


@pytest.fixture(scope="module")
def ratings(synthetic):
    return read_ratings(synthetic / "u.data")


@pytest.fixture(scope="module")
def items(synthetic):
    return read_items(synthetic / "u.item")


def test_sizes(synthetic, ratings, items):
    assert len(items.ids) == 1682 and np.array_equal(items.ids, np.arange(1, 1683))
    assert ratings.users.size == 100_000
    per_user = np.bincount(ratings.users)[1:]
    assert per_user.size == 943 and per_user.min() >= 20
    assert set(np.unique(ratings.items)) == set(range(1, 1683))  # every movie has a rating, as in the real set
    assert (synthetic / "u.info").read_text() == "943 users\n1682 items\n100000 ratings\n"
    users = (synthetic / "u.user").read_text(encoding="latin-1").splitlines()
    assert len(users) == 943 and all(len(line.split("|")) == 5 for line in users)
    genre_lines = [line for line in (synthetic / "u.genre").read_text().splitlines() if line]
    assert [line.split("|")[0] for line in genre_lines] == list(GENRES)
    assert "NOT the MovieLens data set" in (synthetic / "README").read_text()


def test_heavy_tails_and_rating_shares(ratings):
    counts = np.bincount(ratings.items, minlength=1683)[1:]
    assert 0.60 <= gini(counts) <= 0.66
    assert 0.40 <= top_share(counts, 0.1) <= 0.46
    assert 0.53 <= np.mean(ratings.ratings >= 4) <= 0.57
    shares = np.bincount(ratings.ratings, minlength=6)[1:] / ratings.ratings.size
    np.testing.assert_allclose(shares, [0.0611, 0.1137, 0.2715, 0.3417, 0.2120], atol=5e-4)
    per_user = np.bincount(ratings.users)[1:]
    assert 55 <= np.median(per_user) <= 80 and per_user.max() <= 737  # heavy-tailed per user too


def test_films_listed_twice(synthetic, ratings):
    lines = (synthetic / "u.item").read_bytes().decode("latin-1").splitlines()
    by_content = {}
    for line in lines:
        movie_id, title, date, *_rest = line.split("|")
        flags = line.split("|")[5:]
        by_content.setdefault((title, date, tuple(flags)), []).append(int(movie_id))
    pairs = [ids for ids in by_content.values() if len(ids) > 1]
    assert len(pairs) == 18 and all(len(p) == 2 for p in pairs)
    ids = np.array(pairs).ravel()
    assert 900 <= np.isin(ratings.items, ids).sum() <= 1700
    both = set()
    for a, b in pairs:
        both |= set(ratings.users[ratings.items == a]) & set(ratings.users[ratings.items == b])
    assert 200 <= len(both) <= 400


def test_placeholder_and_title_quirks(synthetic, items, ratings):
    k = 266  # movie 267
    assert items.titles[k] == "unknown" and items.release_dates[k] == "" and items.genres[k] == ("unknown",)
    assert (ratings.items == 267).sum() >= 1
    raw = (synthetic / "u.item").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # Latin-1, not UTF-8
    assert sum(any(c in t for c in "éèàçñöüßøåíóÉÀÇÑÖÜØ") for t in items.titles) >= 20
    assert sum(t.endswith(" ") for t in items.titles) >= 5
    assert sum(re.search(r"\(\d{4}\) \(V\)\s*$", t) is not None for t in items.titles) >= 1
    assert sum(d == "" for d in items.release_dates) >= 3  # the placeholder and two more
    assert sum(re.search(r"\(\d{4}\)", t.strip()) is None for t in items.titles) >= 2  # no year in the title
    title_year = [re.search(r"\((\d{4})\)", t) for t in items.titles]
    disagree = sum(
        bool(y and d) and int(y.group(1)) != int(d[-4:]) for y, d in zip(title_year, items.release_dates, strict=True)
    )
    assert disagree >= 50
    # the years come from the titles where the dates disagree
    years = items.years()
    for y, year, d in zip(title_year, years, items.release_dates, strict=True):
        if y and d and int(y.group(1)) != int(d[-4:]):
            assert year == int(y.group(1))


@pytest.mark.slow
def test_splits_are_five_disjoint_folds(synthetic, ratings):
    def keys(r):
        return r.users * 10_000 + r.items

    full = np.sort(keys(ratings))
    tests = []
    for k in range(1, 6):
        base, test = read_ratings(synthetic / f"u{k}.base"), read_ratings(synthetic / f"u{k}.test")
        np.testing.assert_array_equal(np.sort(np.concatenate([keys(base), keys(test)])), full)
        assert 19_000 <= test.users.size <= 21_000
        assert np.all(np.diff(base.users) >= 0)  # sorted by user, as the real splits are
        tests.append(keys(test))
    assert np.unique(np.concatenate(tests)).size == 100_000  # the five test sets are disjoint and cover all


def test_loader_survives_it(synthetic):
    data = load_movielens(synthetic)
    assert data.num_items == 1682 - 18 - 1
    assert len(data.duplicate_groups) == 18 and data.dropped["placeholder_movies"] == 1
    assert len(set(data.texts)) == data.num_items
    kept = load_movielens(synthetic, duplicates="keep")
    assert kept.num_items == 1682 - 1 and len(set(kept.texts)) == kept.num_items


def test_ratings_have_learnable_structure(ratings, items):
    """Users' likes depend on genres (tastes), beyond their overall like rate: compared with the same
    ratings shuffled within each user, the spread over users of (drama like share - comedy like share)
    is far wider."""
    genre_of = {int(i): set(g) for i, g in zip(items.ids, items.genres, strict=True)}
    drama = np.array([("Drama" in genre_of[int(i)]) and ("Comedy" not in genre_of[int(i)]) for i in ratings.items])
    comedy = np.array([("Comedy" in genre_of[int(i)]) and ("Drama" not in genre_of[int(i)]) for i in ratings.items])
    likes = ratings.ratings >= 4

    def spread(like):
        diffs = []
        for u in np.unique(ratings.users):
            m = ratings.users == u
            if (m & drama).sum() >= 10 and (m & comedy).sum() >= 10:
                diffs.append(like[m & drama].mean() - like[m & comedy].mean())
        return np.std(diffs)

    rng = np.random.default_rng(0)
    shuffled = likes.copy()
    for u in np.unique(ratings.users):
        m = np.flatnonzero(ratings.users == u)
        shuffled[m] = likes[rng.permutation(m)]
    assert spread(likes) > 1.5 * spread(shuffled)


@pytest.mark.slow
def test_same_seed_same_bytes(synthetic):
    again = build_files(0)
    assert sorted(again) == sorted(p.name for p in synthetic.iterdir())
    assert all((synthetic / name).read_bytes() == data for name, data in again.items())


@pytest.mark.slow
def test_seeds_differ(synthetic):
    other = build_files(1)
    assert other["u.data"] != (synthetic / "u.data").read_bytes()
    assert other["u.item"] != (synthetic / "u.item").read_bytes()


def test_generate_refuses_to_overwrite_and_writes_atomically(tmp_path, monkeypatch):
    import advrec_gym.movielens_synthetic as synth

    target = tmp_path / "ml"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        generate_movielens(target, 0)
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]
    monkeypatch.setattr(synth, "build_files", lambda seed: {"u.info": b"1 users\n", "u.data": b"1\t1\t5\t0\n"})
    generate_movielens(target, 0, overwrite=True)
    assert sorted(p.name for p in target.iterdir()) == ["u.data", "u.info"]
    assert [p.name for p in tmp_path.iterdir()] == ["ml"]  # no temporary folder left behind

    def broken(seed):
        return {"u.info": b"x", "sub/u.data": b"y"}  # the second file cannot be written

    monkeypatch.setattr(synth, "build_files", broken)
    with pytest.raises(OSError):
        generate_movielens(target, 0, overwrite=True)
    assert sorted(p.name for p in target.iterdir()) == ["u.data", "u.info"]  # the old folder is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["ml"]
