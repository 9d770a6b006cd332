"""Tests for the MovieLens 100K readers, on the hand-written ml-100k-mini fixture."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from advrec_gym.movielens import (
    GENRES,
    MovieLensFormatError,
    read_items,
    read_ratings,
    resolve_dir,
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
    assert texts[0] == "Paper Lanterns (1995). Genres: Animation, Children's, Comedy."
    assert texts[2] == "Quiet Orchard, The (1994). Genres: Drama."
    assert texts[3] == "Café Lumière (1996). Genres: Comedy, Romance."
    # No year in the title: it comes from the release date.
    assert texts[7] == "Dust Road West (1962). Genres: Western."
    # No release date: the title's own year is kept.
    assert texts[10] == "Glass Kingdom (1998). Genres: Children's, Fantasy."
    assert texts[8] == "unknown. Genres: unknown."
    assert texts[11] == "Untitled Reel (1996). Genres: unknown."


def test_texts_prefers_release_date_year(tmp_path):
    lines = _item_lines()
    lines[0] = lines[0].replace("01-Jan-1995", "01-Jan-1997", 1)
    items = read_items(_write(tmp_path / "u.item", lines))
    assert items.texts()[0] == "Paper Lanterns (1997). Genres: Animation, Children's, Comedy."


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
