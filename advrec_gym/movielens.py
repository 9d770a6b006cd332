"""Readers for the MovieLens 100K (``ml-100k``) file format.

The data set itself is not shipped with AdvRec (its licence forbids
redistribution): download ``ml-100k`` from GroupLens
(https://grouplens.org/datasets/movielens/100k/) and pass its folder.

Two files are read:

* ``u.item``: ``movie id|movie title|release date|video release date|IMDb URL``
  followed by 19 genre flags (0 or 1), one movie per line, Latin-1 encoded.
* ``u.data`` (or ``u1.base`` etc.): ``user id<TAB>item id<TAB>rating<TAB>timestamp``.

Any malformed line raises :class:`MovieLensFormatError` naming the file, the
1-based line number, what was expected and what was found. Blank lines are
skipped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GENRES: tuple[str, ...] = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)

_ITEM_FIELDS = 5 + len(GENRES)  # 24
_INT = re.compile(r"-?[0-9]+")
_YEAR = re.compile(r"\b([0-9]{4})$")  # "01-Jan-1995" -> "1995"
_TITLE_YEAR = re.compile(r"\s*\(([0-9]{4})\)$")  # "Toy Story (1995)"
_MAX_FOUND = 120
_DOWNLOAD_HINT = (
    "the MovieLens 100K data set is not shipped with AdvRec (licence); "
    "download ml-100k from GroupLens "
    "(https://grouplens.org/datasets/movielens/100k/) yourself and pass its folder"
)


class MovieLensFormatError(ValueError):
    """A MovieLens file has a line that does not follow the ml-100k format.

    Args:
        path: The file.
        line_no: The 1-based number of the offending line.
        expected: What the line should hold, e.g. "rating in 1..5".
        found: What it holds instead; cut to 120 characters.
    """

    def __init__(self, path: Path, line_no: int, expected: str, found: str):
        if len(found) > _MAX_FOUND:
            found = found[:_MAX_FOUND] + "..."
        super().__init__(f"{path}, line {line_no}: expected {expected}, found {found}")
        self.path = path
        self.line_no = line_no


@dataclass(frozen=True)
class MovieLensItems:
    """The movies of a ``u.item`` file, in file order.

    Attributes:
        ids: int64 movie ids.
        titles: Movie titles as written in the file (usually ending in "(year)").
        release_dates: Release dates as written, e.g. "01-Jan-1995" or "".
        genres: For each movie, the names (from :data:`GENRES`) flagged 1.
    """

    ids: np.ndarray
    titles: list[str]
    release_dates: list[str]
    genres: list[tuple[str, ...]]

    def texts(self) -> list[str]:
        """One readable text per movie, for a language-model encoder.

        The year comes from the release date when it has one, else from a
        trailing "(year)" in the title; e.g.
        "Toy Story (1995). Genres: Animation, Children's, Comedy."
        A movie with no genre flagged gets "Genres: unknown.".

        Returns:
            A list of strings, one per movie, in file order.
        """
        texts = []
        for title, date, genres in zip(self.titles, self.release_dates, self.genres, strict=True):
            title_year = _TITLE_YEAR.search(title)
            date_year = _YEAR.search(date.strip())
            name = title[: title_year.start()] if title_year else title
            year = date_year or title_year
            head = f"{name} ({year.group(1)})" if year else name
            texts.append(f"{head}. Genres: {', '.join(genres) or 'unknown'}.")
        return texts

    def primary_genres(self) -> list[str]:
        """The first flagged genre of each movie, "unknown" when none is flagged."""
        return [g[0] if g else "unknown" for g in self.genres]


@dataclass(frozen=True)
class MovieLensRatings:
    """The ratings of a ``u.data``-format file, one array entry per line.

    Attributes:
        users: int64 user ids.
        items: int64 movie ids.
        ratings: int64 ratings, 1..5.
        timestamps: int64 Unix timestamps (seconds).
    """

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray
    timestamps: np.ndarray


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yields (1-based line number, line) for each non-blank line of a Latin-1 file."""
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: {_DOWNLOAD_HINT}")
    # Split on "\n" only: str.splitlines() would also split on Latin-1 "\x85".
    for line_no, line in enumerate(path.read_bytes().decode("latin-1").split("\n"), 1):
        line = line.rstrip("\r")
        if line.strip():
            yield line_no, line


def _int(text: str) -> int | None:
    """Parses a plain decimal integer that fits int64, or returns None."""
    if _INT.fullmatch(text) and -(2**63) <= int(text) < 2**63:
        return int(text)
    return None


def read_items(path: str | os.PathLike) -> MovieLensItems:
    """Reads a ``u.item`` file.

    Args:
        path: The ``u.item`` file.

    Returns:
        The movies, in file order.

    Raises:
        FileNotFoundError: The file does not exist.
        MovieLensFormatError: A line is malformed, a movie id repeats, or the
            file has no movies.
    """
    path = Path(path)
    ids: list[int] = []
    first_line: dict[int, int] = {}
    titles, dates, genres = [], [], []
    for line_no, line in _lines(path):
        fields = line.split("|")
        if len(fields) != _ITEM_FIELDS:
            raise MovieLensFormatError(
                path,
                line_no,
                f"{_ITEM_FIELDS} '|'-separated fields",
                f"{len(fields)} fields: {line!r}",
            )
        movie_id = _int(fields[0])
        if movie_id is None:
            raise MovieLensFormatError(path, line_no, "an integer movie id", repr(fields[0]))
        if movie_id in first_line:
            raise MovieLensFormatError(
                path,
                line_no,
                f"a new movie id (id {movie_id} is already on line {first_line[movie_id]})",
                repr(fields[0]),
            )
        flags = fields[5:]
        if any(f not in ("0", "1") for f in flags):
            raise MovieLensFormatError(
                path,
                line_no,
                f"{len(GENRES)} genre flags of 0 or 1",
                repr("|".join(flags)),
            )
        first_line[movie_id] = line_no
        ids.append(movie_id)
        titles.append(fields[1])
        dates.append(fields[2])
        genres.append(tuple(g for g, f in zip(GENRES, flags, strict=True) if f == "1"))
    if not ids:
        raise MovieLensFormatError(path, 1, "at least one movie line", "an empty file")
    return MovieLensItems(np.array(ids, dtype=np.int64), titles, dates, genres)


def read_ratings(path: str | os.PathLike) -> MovieLensRatings:
    """Reads a ``u.data``-format ratings file (``u.data``, ``u1.base``, ...).

    Movie and user ids are not checked against any ``u.item`` here.

    Args:
        path: The ratings file.

    Returns:
        The ratings, in file order.

    Raises:
        FileNotFoundError: The file does not exist.
        MovieLensFormatError: A line is malformed or a rating is not in 1..5.
    """
    path = Path(path)
    rows: list[list[int]] = []
    for line_no, line in _lines(path):
        values = [_int(field) for field in line.split("\t")]
        if len(values) != 4 or None in values:
            raise MovieLensFormatError(path, line_no, "4 tab-separated integer fields", repr(line))
        if not 1 <= values[2] <= 5:
            raise MovieLensFormatError(path, line_no, "rating in 1..5", repr(line.split("\t")[2]))
        rows.append(values)
    columns = np.array(rows, dtype=np.int64).reshape(-1, 4).T
    return MovieLensRatings(*(np.ascontiguousarray(c) for c in columns))


def resolve_dir(path: str | os.PathLike) -> tuple[Path, Path | None]:
    """Finds the ``u.item`` and ``u.data`` files of an ml-100k folder.

    Args:
        path: An ml-100k folder (containing ``u.item`` and optionally
            ``u.data``), or the ``u.item`` file itself.

    Returns:
        ``(u.item path, u.data path)``; the second is None when there is no
        ``u.data`` next to ``u.item``.

    Raises:
        FileNotFoundError: There is no ``u.item`` at ``path``.
    """
    path = Path(path)
    item_path = path / "u.item" if path.is_dir() else path
    if not item_path.is_file():
        raise FileNotFoundError(f"{item_path} not found: {_DOWNLOAD_HINT}")
    data_path = item_path.parent / "u.data"
    return item_path, data_path if data_path.is_file() else None
