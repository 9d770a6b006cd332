"""Tests for the MovieLens 100K readers and loader, on the hand-written ml-100k-mini fixture."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from advrec_gym.movielens import (
    GENRES,
    MovieLensFormatError,
    load_movielens,
    read_items,
    read_ratings,
    resolve_dir,
    split_users,
)

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "ml-100k-mini"


@pytest.fixture
def items():
    return read_items(MINI / "u.item")


@pytest.fixture
def ratings():
    return read_ratings(MINI / "u.data")


def _item_lines() -> list[str]:
    return (MINI / "u.item").read_bytes().decode("latin-1").splitlines()


def _write(path: Path, lines: list[str]) -> Path:
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return path


# --- the fixture -----------------------------------------------------------


def test_genres_match_u_genre_file():
    lines = (MINI / "u.genre").read_text(encoding="latin-1").split("\n")
    pairs = [line.split("|") for line in lines if line]
    assert len(GENRES) == 19
    assert tuple(name for name, _ in pairs) == GENRES
    assert [int(index) for _, index in pairs] == list(range(19))


def test_read_items_counts_and_ids(items):
    assert items.ids.dtype == np.int64
    np.testing.assert_array_equal(items.ids, np.arange(1, 13))
    assert len(items.titles) == len(items.release_dates) == len(items.genres) == 12


def test_read_items_decodes_latin1_title(items):
    assert (MINI / "u.item").read_bytes().count("é".encode("latin-1")) >= 1
    assert items.titles[3] == "Café Lumière (1996)"


def test_read_items_fields(items):
    assert items.titles[0] == "Paper Lanterns (1995)"
    assert items.titles[8] == "unknown"
    assert items.release_dates[2] == "14-Oct-1994"
    assert items.release_dates[8] == ""
    assert items.genres[0] == ("Animation", "Children's", "Comedy")
    assert items.genres[4] == ("Action", "Adventure", "Romance", "Sci-Fi", "War")
    assert items.genres[8] == ("unknown",)
    assert items.genres[11] == ()


def test_texts(items):
    texts = items.texts()
    assert len(texts) == 12
    # every genre first, then the title (a trailing article moved to the front) and the title's year
    assert texts[0] == "Animation, Children's, Comedy. Paper Lanterns (1995)."
    assert texts[2] == "Drama. The Quiet Orchard (1994)."
    assert texts[3] == "Comedy, Romance. Café Lumière (1996)."
    # No year in the title: it comes from the release date.
    assert texts[7] == "Western. Dust Road West (1962)."
    # No release date: the title's own year is kept.
    assert texts[10] == "Children's, Fantasy. Glass Kingdom (1998)."
    assert texts[8] == "unknown. unknown."
    assert texts[11] == "Genre unknown. Untitled Reel (1996)."


def test_texts_prefer_the_title_year(tmp_path):
    # A release date is often a re-release's or a video's: the title's year is the film's.
    lines = _item_lines()
    lines[0] = lines[0].replace("01-Jan-1995", "01-Jan-1997", 1)
    items = read_items(_write(tmp_path / "u.item", lines))
    assert items.texts()[0] == "Animation, Children's, Comedy. Paper Lanterns (1995)."
    assert items.years()[0] == 1995 and items.years()[7] == 1962 and items.years()[8] is None


@pytest.mark.parametrize(
    ("title", "name", "year"),
    [
        ("Usual Suspects, The (1995)", "The Usual Suspects", 1995),
        ("Kika (1993) (V)", "Kika", 1993),
        ("Kika (1993) ", "Kika", 1993),
        ("Cité des enfants perdus, La (1995)", "La Cité des enfants perdus", 1995),
        ("Enfant, L' (1999)", "L'Enfant", 1999),
        ("Seven (Se7en) (1995)", "Seven (Se7en)", 1995),
        ("Amy, Chasing (A Subtitle) (1997)", "Amy, Chasing (A Subtitle)", 1997),
        ("Island in the Sea, An (Øen) (1993)", "An Island in the Sea (Øen)", 1993),
    ],
)
def test_names_strip_suffixes_and_move_articles(tmp_path, title, name, year):
    lines = _item_lines()
    fields = lines[0].split("|")
    fields[1] = title
    lines[0] = "|".join(fields)
    items = read_items(_write(tmp_path / "u.item", lines))
    assert items.names()[0] == name
    assert items.years()[0] == year


def test_placeholders(items):
    np.testing.assert_array_equal(np.flatnonzero(items.placeholders()), [8])


def test_primary_genres(items):
    assert items.primary_genres() == [
        "Animation",
        "Action",
        "Drama",
        "Comedy",
        "Action",
        "Crime",
        "Horror",
        "Western",
        "unknown",
        "Documentary",
        "Children's",
        "unknown",
    ]


def test_read_ratings(ratings):
    for array in (ratings.users, ratings.items, ratings.ratings, ratings.timestamps):
        assert array.dtype == np.int64
        assert array.shape == (60,)
    assert (
        ratings.users[0],
        ratings.items[0],
        ratings.ratings[0],
        ratings.timestamps[0],
    ) == (6, 3, 4, 876344933)
    assert (
        ratings.users[1],
        ratings.items[1],
        ratings.ratings[1],
        ratings.timestamps[1],
    ) == (2, 9, 1, 886995193)
    assert (
        ratings.users[-1],
        ratings.items[-1],
        ratings.ratings[-1],
        ratings.timestamps[-1],
    ) == (1, 3, 2, 879474640)
    assert set(ratings.users.tolist()) == set(range(1, 9))
    assert set(ratings.items.tolist()) == set(range(1, 13))
    assert ratings.ratings.min() >= 1 and ratings.ratings.max() <= 5
    assert len(set(zip(ratings.users.tolist(), ratings.items.tolist(), strict=True))) == 60


def test_blank_trailing_lines_are_fine(tmp_path):
    item_path = tmp_path / "u.item"
    item_path.write_bytes((MINI / "u.item").read_bytes() + b"\n\n  \n")
    data_path = tmp_path / "u.data"
    data_path.write_bytes((MINI / "u.data").read_bytes().replace(b"\n", b"\r\n") + b"\r\n")
    assert len(read_items(item_path).titles) == 12
    assert read_ratings(data_path).timestamps[0] == 876344933


def test_empty_ratings_file(tmp_path):
    path = tmp_path / "u1.test"
    path.write_bytes(b"")
    ratings = read_ratings(path)
    assert ratings.users.shape == (0,) and ratings.users.dtype == np.int64


# --- resolve_dir -----------------------------------------------------------


def test_resolve_dir_from_directory():
    assert resolve_dir(MINI) == (MINI / "u.item", MINI / "u.data")
    assert resolve_dir(str(MINI)) == (MINI / "u.item", MINI / "u.data")


def test_resolve_dir_from_item_file():
    assert resolve_dir(MINI / "u.item") == (MINI / "u.item", MINI / "u.data")


def test_resolve_dir_without_ratings(tmp_path):
    shutil.copy(MINI / "u.item", tmp_path / "u.item")
    assert resolve_dir(tmp_path) == (tmp_path / "u.item", None)
    assert resolve_dir(tmp_path / "u.item") == (tmp_path / "u.item", None)


def test_resolve_dir_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="not shipped") as info:
        resolve_dir(tmp_path)
    assert str(tmp_path / "u.item") in str(info.value)
    with pytest.raises(FileNotFoundError, match="GroupLens"):
        resolve_dir(tmp_path / "nowhere" / "u.item")


# --- errors ----------------------------------------------------------------


@pytest.mark.parametrize("reader", [read_items, read_ratings])
def test_missing_file(tmp_path, reader):
    path = tmp_path / "u.missing"
    with pytest.raises(FileNotFoundError) as info:
        reader(path)
    message = str(info.value)
    assert str(path) in message
    assert "not shipped" in message and "ml-100k" in message and "GroupLens" in message


def _assert_format_error(info, path: Path, line_no: int, expected: str, found: str):
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert str(path) in message
    assert f"line {line_no}:" in message
    assert f"expected {expected}" in message
    assert found in message
    assert info.value.line_no == line_no


def test_wrong_field_count(tmp_path):
    lines = _item_lines()
    lines[4] = lines[4].rsplit("|", 1)[0]  # drop the Western flag
    path = _write(tmp_path / "u.item", lines)
    with pytest.raises(MovieLensFormatError) as info:
        read_items(path)
    _assert_format_error(info, path, 5, "24 '|'-separated fields", "found 23 fields")


def test_bad_genre_flag(tmp_path):
    lines = _item_lines()
    lines[6] = lines[6][:-1] + "2"
    path = _write(tmp_path / "u.item", lines)
    with pytest.raises(MovieLensFormatError) as info:
        read_items(path)
    _assert_format_error(info, path, 7, "19 genre flags of 0 or 1", "0|1|0|2")


def test_non_integer_movie_id(tmp_path):
    lines = _item_lines()
    lines[1] = "two" + lines[1][1:]
    path = _write(tmp_path / "u.item", lines)
    with pytest.raises(MovieLensFormatError) as info:
        read_items(path)
    _assert_format_error(info, path, 2, "an integer movie id", "'two'")


def test_duplicate_movie_id(tmp_path):
    lines = _item_lines()
    lines[9] = "3" + lines[9][2:]
    path = _write(tmp_path / "u.item", lines)
    with pytest.raises(MovieLensFormatError) as info:
        read_items(path)
    _assert_format_error(info, path, 10, "a new movie id (id 3 is already on line 3)", "'3'")


def test_empty_item_file(tmp_path):
    path = tmp_path / "u.item"
    path.write_bytes(b"\n\n")
    with pytest.raises(MovieLensFormatError) as info:
        read_items(path)
    _assert_format_error(info, path, 1, "at least one movie line", "an empty file")


def test_long_line_is_truncated(tmp_path):
    lines = _item_lines()
    lines[0] = lines[0] + "|" + "x" * 500
    path = _write(tmp_path / "u.item", lines)
    with pytest.raises(MovieLensFormatError) as info:
        read_items(path)
    _assert_format_error(info, path, 1, "24 '|'-separated fields", "...")
    assert "x" * 200 not in str(info.value)


@pytest.mark.parametrize(
    "bad_line, expected, found",
    [
        ("3\t2\t4", "4 tab-separated integer fields", "'3\\t2\\t4'"),
        ("3 2 4 875000000", "4 tab-separated integer fields", "'3 2 4 875000000'"),
        ("3\ttwo\t4\t875000000", "4 tab-separated integer fields", "two"),
        ("3\t2\t4.5\t875000000", "4 tab-separated integer fields", "4.5"),
        ("3\t2\t6\t875000000", "rating in 1..5", "'6'"),
        ("3\t2\t0\t875000000", "rating in 1..5", "'0'"),
    ],
)
def test_bad_rating_lines(tmp_path, bad_line, expected, found):
    lines = (MINI / "u.data").read_text(encoding="latin-1").splitlines()
    lines[11] = bad_line
    path = _write(tmp_path / "u1.base", lines)
    with pytest.raises(MovieLensFormatError) as info:
        read_ratings(path)
    _assert_format_error(info, path, 12, expected, found)


def test_fast_and_careful_rating_readers_agree(tmp_path, monkeypatch):
    import advrec_gym.movielens as ml

    path = tmp_path / "u.data"
    lines = (MINI / "u.data").read_text(encoding="latin-1").splitlines()
    path.write_bytes(("\r\n".join(lines[:30] + ["", "  "] + lines[30:]) + "\r\n").encode("latin-1"))
    fast = read_ratings(path)
    monkeypatch.setattr(ml, "_read_ratings_fast", lambda p: None)
    careful = read_ratings(path)
    for name in ("users", "items", "ratings", "timestamps", "line_numbers"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(careful, name))
    # two blank lines after line 30: the 31st rating is on line 33
    assert fast.line_numbers[29] == 30 and fast.line_numbers[30] == 33


# --- load_movielens: the data set as the simulator reads it -----------------


def _copy_mini(tmp_path: Path, item_lines=None, data_lines=None) -> Path:
    folder = tmp_path / "ml"
    folder.mkdir()
    _write(folder / "u.item", item_lines if item_lines is not None else _item_lines())
    data = data_lines if data_lines is not None else (MINI / "u.data").read_text(encoding="latin-1").splitlines()
    _write(folder / "u.data", data)
    return folder


def _with_second_listing(tmp_path: Path) -> tuple[Path, list[str]]:
    """The fixture plus movie 13: movie 3's line under a new id, rated by users 1 and 2."""
    items = _item_lines()
    items.append("13" + items[2][1:])
    ratings = (MINI / "u.data").read_text(encoding="latin-1").splitlines()
    rated_3 = {int(line.split("\t")[0]): line for line in ratings if line.split("\t")[1] == "3"}
    both = sorted(rated_3)[0]  # this user rated movie 3 and rates its second listing later
    ratings.append(f"{both}\t13\t1\t999999999")
    other = next(u for u in range(1, 9) if u not in rated_3)
    ratings.append(f"{other}\t13\t5\t800000000")
    return _copy_mini(tmp_path, items, ratings), [str(both), str(other)]


def test_load_drops_the_placeholder_and_its_ratings():
    data = load_movielens(MINI)
    assert data.num_items == 11 and 9 not in data.ids.tolist()
    raw = read_ratings(MINI / "u.data")
    assert data.dropped == {
        "placeholder_movies": 1,
        "placeholder_ratings": int((raw.items == 9).sum()),
        "second_ratings": 0,
    }
    assert data.num_ratings == 60 - int((raw.items == 9).sum())
    assert data.row_of_line[8] == -1 and data.row_of_line[9] == 8
    # sorted by user, then time
    order = np.lexsort((data.timestamps, data.users))
    np.testing.assert_array_equal(order, np.arange(data.num_ratings))
    assert data.texts[0] == "Animation, Children's, Comedy. Paper Lanterns (1995)."


def test_the_raw_texts_of_a_second_listing_collide(tmp_path):
    # What crashed the old loader on the real set ("items 245 and 267 are both 'Chasing Amy ...'").
    folder, _ = _with_second_listing(tmp_path)
    texts = read_items(folder / "u.item").texts()
    assert texts[2] == texts[12]


def test_merge_makes_one_row_and_keeps_a_users_first_rating(tmp_path):
    folder, (both, other) = _with_second_listing(tmp_path)
    data = load_movielens(folder, duplicates="merge")
    assert data.num_items == 11 and data.duplicate_groups == ((3, 13),)
    row = data.row_of_line[2]
    assert data.row_of_line[12] == row and data.ids[row] == 3
    assert data.dropped["second_ratings"] == 1
    mine = (data.users == int(both)) & (data.rows == row)
    assert mine.sum() == 1 and data.timestamps[mine][0] != 999999999  # the earlier rating stays
    theirs = (data.users == int(other)) & (data.rows == row)
    assert theirs.sum() == 1 and data.ratings[theirs][0] == 5  # their only rating is of the second listing


def test_keep_makes_two_distinguishable_rows(tmp_path):
    folder, _ = _with_second_listing(tmp_path)
    data = load_movielens(folder, duplicates="keep")
    assert data.num_items == 12 and data.dropped["second_ratings"] == 0
    assert data.texts[data.row_of_line[2]] == "Drama. The Quiet Orchard (1994)."
    assert data.texts[data.row_of_line[12]] == "Drama. The Quiet Orchard (1994). Listed again as movie 13."
    assert len(set(data.texts)) == 12


def test_bad_duplicates_option_suggests():
    with pytest.raises(ValueError, match="Did you mean 'merge'"):
        load_movielens(MINI, duplicates="marge")


def test_a_rating_of_an_unlisted_movie_names_file_line_and_id(tmp_path):
    ratings = (MINI / "u.data").read_text(encoding="latin-1").splitlines()
    ratings[6] = "3\t99\t4\t875000000"
    folder = _copy_mini(tmp_path, data_lines=ratings)
    with pytest.raises(MovieLensFormatError) as info:
        load_movielens(folder)
    _assert_format_error(info, folder / "u.data", 7, "a movie id listed in u.item", "movie id 99")


def test_a_repeated_rating_names_both_lines(tmp_path):
    ratings = (MINI / "u.data").read_text(encoding="latin-1").splitlines()
    ratings.append(ratings[4])
    folder = _copy_mini(tmp_path, data_lines=ratings)
    user, movie = ratings[4].split("\t")[:2]
    with pytest.raises(MovieLensFormatError) as info:
        load_movielens(folder)
    _assert_format_error(
        info,
        folder / "u.data",
        61,
        f"one rating per user and movie (user {user} already rated movie {movie} on line 5)",
        "a second rating",
    )


def test_missing_ratings_file_is_named(tmp_path):
    folder = tmp_path / "ml"
    folder.mkdir()
    shutil.copy(MINI / "u.item", folder / "u.item")
    with pytest.raises(FileNotFoundError, match="u.data not found"):
        load_movielens(folder)
    with pytest.raises(FileNotFoundError, match="u1.base not found"):
        load_movielens(MINI, ratings_file="u1.base")


def test_popularity_counts_only_the_given_users():
    data = load_movielens(MINI)
    train, test = split_users(data.user_ids(), 0.25, seed=0)
    expected = np.bincount(data.rows[np.isin(data.users, train)], minlength=data.num_items) + 1.0
    np.testing.assert_array_equal(data.popularity(train), expected)
    assert data.popularity(train).sum() == np.isin(data.users, train).sum() + data.num_items


# --- split_users -------------------------------------------------------------


def test_split_users_is_a_seeded_partition():
    users = np.arange(1, 944)
    train, test = split_users(users[::-1], 0.2, seed=0)
    assert len(test) == 189 and len(train) == 754
    assert not set(train) & set(test) and set(train) | set(test) == set(users)
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    again = split_users(users, 0.2, seed=0)
    np.testing.assert_array_equal(again[1], test)
    assert not np.array_equal(split_users(users, 0.2, seed=1)[1], test)
    assert len(split_users(users, 0.0)[1]) == 0
    assert len(split_users(users[:3], 0.01)[1]) == 1  # a positive fraction holds out at least one


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"test_fraction": 1.0}, ValueError, r"test_fraction must be a finite number in \[0.0, 1.0\)"),
        ({"test_fraction": -0.1}, ValueError, "test_fraction"),
        ({"seed": -1}, ValueError, "seed"),
        ({"test_fraction": 0.9}, ValueError, "leaves no training user"),
    ],
)
def test_split_users_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        split_users(np.arange(2), **kwargs)
