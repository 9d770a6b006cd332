"""Readers for the MovieLens 100K (``ml-100k``) file format, and the data set as the simulator uses it.

The data set itself is not shipped with AdvRec (its licence forbids
redistribution): download ``ml-100k`` from GroupLens
(https://grouplens.org/datasets/movielens/100k/) and pass its folder, or write a
synthetic one of the same size and format with
:func:`advrec_gym.movielens_synthetic.generate_movielens`.

Two files are read:

* ``u.item``: ``movie id|movie title|release date|video release date|IMDb URL``
  followed by 19 genre flags (0 or 1), one movie per line, Latin-1 encoded.
* ``u.data`` (or ``u1.base`` etc.): ``user id<TAB>item id<TAB>rating<TAB>timestamp``.

Any malformed line raises :class:`MovieLensFormatError` naming the file, the
1-based line number, what was expected and what was found. Blank lines are
skipped.

:func:`load_movielens` turns the files into what a catalogue and a user population
need, surviving the real set's quirks: the same film listed under two movie ids
(merged, or kept apart with distinguishable texts), the placeholder movie
"unknown" (dropped, with its ratings), missing release dates, release dates of a
re-release (the year comes from the title), titles with trailing spaces or a
"(V)" suffix. :func:`split_users` is the one by-user train / test split.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from advrec_gym._validation import check_choice, check_float, check_int

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
_VIDEO = re.compile(r"\s*\(V\)$")  # "Title (1995) (V)": a video release
# "Usual Suspects, The" -> "The Usual Suspects" (and the French, Italian, Spanish and German articles)
_TRAILING_ARTICLE = re.compile(r"^(.*), (The|A|An|La|Le|Les|L'|Il|El|Los|Las|Das|Der|Die)(\s*\(.*\))?$")
#: the title of the real set's placeholder movie (id 267: no date, genre "unknown")
PLACEHOLDER_TITLE = "unknown"
DUPLICATES = ("merge", "keep")
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

    def names(self) -> list[str]:
        """Each title without its year and "(V)" suffix, stripped, a trailing article moved to the front.

        "Usual Suspects, The (1995)" -> "The Usual Suspects"; "Kika (1993) (V) " -> "Kika".
        """
        names = []
        for title in self.titles:
            name = _VIDEO.sub("", title.strip())
            year = _TITLE_YEAR.search(name)
            name = (name[: year.start()] if year else name).strip()
            moved = _TRAILING_ARTICLE.match(name)
            if moved:
                head, article, alias = moved.groups()
                space = "" if article.endswith("'") else " "
                name = f"{article}{space}{head}{alias or ''}"
            names.append(name)
        return names

    def years(self) -> list[int | None]:
        """The year in each title (the release date is often a re-release's), else the date's, else None."""
        years = []
        for title, date in zip(self.titles, self.release_dates, strict=True):
            match = _TITLE_YEAR.search(_VIDEO.sub("", title.strip())) or _YEAR.search(date.strip())
            years.append(int(match.group(1)) if match else None)
        return years

    def placeholders(self) -> np.ndarray:
        """Bool mask of placeholder movies (title "unknown", as the real set's movie 267)."""
        return np.array([t.strip().lower() == PLACEHOLDER_TITLE for t in self.titles], dtype=bool)

    def texts(self) -> list[str]:
        """One readable text per movie, for a language-model encoder: all genres, title and year.

        E.g. "Animation, Children's, Comedy. Toy Story (1995)."; the year is the title's
        (:meth:`years`); a movie with no genre flagged starts "Genre unknown.". The genres come first:
        measured with all-MiniLM-L6-v2 on the synthetic full-size set, that order makes a movie's
        nearest neighbour share a genre for 84% of movies (65% with the genres after the title) and
        doubles the correlation of embedding cosine with genre overlap (see docs/movielens.md).

        Returns:
            A list of strings, one per movie, in file order.
        """
        texts = []
        for name, year, genres in zip(self.names(), self.years(), self.genres, strict=True):
            head = ", ".join(genres) if genres else "Genre unknown"
            texts.append(f"{head}. {name} ({year})." if year is not None else f"{head}. {name}.")
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
        path: the file they were read from.
        line_numbers: int64 1-based line of each rating in that file (for error messages).
    """

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray
    timestamps: np.ndarray
    path: Path | None = None
    line_numbers: np.ndarray | None = None


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
    fast = _read_ratings_fast(path)
    if fast is not None:
        return fast
    rows: list[list[int]] = []
    line_numbers: list[int] = []
    for line_no, line in _lines(path):
        values = [_int(field) for field in line.split("\t")]
        if len(values) != 4 or None in values:
            raise MovieLensFormatError(path, line_no, "4 tab-separated integer fields", repr(line))
        if not 1 <= values[2] <= 5:
            raise MovieLensFormatError(path, line_no, "rating in 1..5", repr(line.split("\t")[2]))
        rows.append(values)
        line_numbers.append(line_no)
    columns = np.array(rows, dtype=np.int64).reshape(-1, 4).T
    return MovieLensRatings(
        *(np.ascontiguousarray(c) for c in columns), path=path, line_numbers=np.array(line_numbers, dtype=np.int64)
    )


def _read_ratings_fast(path: Path) -> MovieLensRatings | None:
    """The ratings of a well-formed file in one numpy pass; None when any line needs the careful reader."""
    if not path.exists():
        return None
    lines = path.read_bytes().decode("latin-1").split("\n")
    kept = [k for k, line in enumerate(lines) if line.strip()]
    if not kept:
        return None
    text = "\t".join(lines[k].rstrip("\r") for k in kept)
    tokens = text.split("\t")
    if len(tokens) != 4 * len(kept) or not all(map(_INT.fullmatch, tokens)):
        return None
    try:
        columns = np.array(tokens, dtype=np.int64).reshape(-1, 4).T
    except (ValueError, OverflowError):
        return None
    if np.any((columns[2] < 1) | (columns[2] > 5)):
        return None
    return MovieLensRatings(
        *(np.ascontiguousarray(c) for c in columns), path=path, line_numbers=np.array(kept, dtype=np.int64) + 1
    )


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


# ---------------------------------------------------------------------------------------------- the data set
@dataclass(frozen=True, eq=False)
class MovieLensData:
    """A MovieLens folder as the simulator uses it: one catalogue row per film, the ratings by row.

    Build it with :func:`load_movielens`.

    Attributes:
        folder: the ml-100k folder.
        ratings_file: the ratings file read (``u.data`` unless told otherwise).
        items: the movies exactly as read (every ``u.item`` line, file order).
        row_of_line: int64 (number of u.item lines,): the catalogue row of each line; -1 for a dropped
            placeholder. With ``duplicates="merge"`` both listings of a film share a row.
        ids: int64 (num_rows,): the movie id of each row (a merged film's first listing).
        texts: one encoder text per row (:meth:`MovieLensItems.texts`; a kept second listing says so).
        topics: the first genre of each row.
        genres: all genres of each row.
        users, rows, ratings, timestamps: int64 (num_ratings,): the ratings with their catalogue row,
            sorted by user, then time, then file line. A user who rated both listings of a merged film
            keeps the earlier rating only; ratings of a dropped placeholder are left out.
        duplicates: ``"merge"`` or ``"keep"``.
        duplicate_groups: the movie ids listed more than once for one film, one tuple per film.
        dropped: counts of what was left out (``placeholder_movies``, ``placeholder_ratings``,
            ``second_ratings``: a user's rating of a film's other listing, with merge).
        fingerprint: SHA-256 of the u.item and ratings files' bytes (a cache key).
    """

    folder: Path
    ratings_file: str
    items: MovieLensItems
    row_of_line: np.ndarray
    ids: np.ndarray
    texts: tuple[str, ...]
    topics: tuple[str, ...]
    genres: tuple[tuple[str, ...], ...]
    users: np.ndarray
    rows: np.ndarray
    ratings: np.ndarray
    timestamps: np.ndarray
    duplicates: str
    duplicate_groups: tuple[tuple[int, ...], ...]
    dropped: dict = field(default_factory=dict)
    fingerprint: str = ""

    @property
    def num_items(self) -> int:
        return int(self.ids.shape[0])

    @property
    def num_ratings(self) -> int:
        return int(self.users.shape[0])

    def user_ids(self) -> np.ndarray:
        """The ids of the users with at least one kept rating, sorted."""
        return np.unique(self.users)

    def rating_counts(self, users: np.ndarray | None = None) -> np.ndarray:
        """Ratings per row (float64), from all users or only from ``users`` (e.g. the training users)."""
        keep = slice(None) if users is None else np.isin(self.users, users)
        return np.bincount(self.rows[keep], minlength=self.num_items).astype(np.float64)

    def popularity(self, users: np.ndarray | None = None) -> np.ndarray:
        """The popularity prior: ratings per row from ``users`` plus one (no film has zero prior)."""
        return self.rating_counts(users) + 1.0

    def summary(self) -> dict:
        """Sizes and what was merged or dropped, for reports."""
        return {
            "folder": str(self.folder),
            "ratings_file": self.ratings_file,
            "movies_listed": int(self.row_of_line.shape[0]),
            "catalogue_rows": self.num_items,
            "users": int(self.user_ids().shape[0]),
            "ratings": self.num_ratings,
            "duplicates": self.duplicates,
            "films_listed_twice": len(self.duplicate_groups),
            **{k: int(v) for k, v in self.dropped.items()},
        }


def load_movielens(
    path: str | os.PathLike, *, duplicates: str = "merge", ratings_file: str = "u.data"
) -> MovieLensData:
    """Read an ml-100k folder into catalogue rows and ratings by row.

    * **Duplicates.** Movies whose texts coincide are one film listed twice (the real set lists 18
      films under two ids with identical title, date and genres). ``"merge"`` (the default) makes
      them one catalogue row: the same film should be one item, or its ratings and popularity are
      split in two, a recommender gets two actions for one film, and a user who rated both copies
      (307 users do in the real set) hands an evaluation a free correct answer. ``"keep"`` keeps two
      rows whose texts say which listing they are ("... Listed again as movie 268.").
    * **Placeholder.** A movie titled "unknown" (the real set's 267: no date, genre "unknown") has no
      content to encode; it is dropped with its ratings.
    * **Years** come from the title (release dates are often a re-release's or a video's); titles are
      stripped, their "(V)" suffix and trailing article handled (:meth:`MovieLensItems.names`).

    Args:
        path: the ml-100k folder (or its ``u.item`` file).
        duplicates: ``"merge"`` or ``"keep"``.
        ratings_file: the ratings file in the folder: ``"u.data"`` (all ratings), ``"u1.base"``, ...

    Returns:
        A :class:`MovieLensData`.

    Raises:
        FileNotFoundError: the folder, ``u.item`` or the ratings file is missing.
        MovieLensFormatError: a malformed line, a rating of a movie id that ``u.item`` does not list,
            or a user rating one movie id twice (the message names the file and line).
    """
    duplicates = check_choice("duplicates", duplicates, DUPLICATES)
    item_path, _ = resolve_dir(path)
    folder = item_path.parent
    data_path = folder / ratings_file
    if not data_path.is_file():
        raise FileNotFoundError(f"{data_path} not found: the simulator needs the ratings file next to u.item.")
    items = read_items(item_path)
    raw = read_ratings(data_path)

    texts_of_line = items.texts()
    placeholder = items.placeholders()
    first_line_of_text: dict[str, int] = {}
    groups: dict[int, list[int]] = {}
    row_of_line = np.full(len(items.ids), -1, dtype=np.int64)
    ids, texts, topics, genres = [], [], [], []
    primary = items.primary_genres()
    for line, text in enumerate(texts_of_line):
        if placeholder[line]:
            continue
        first = first_line_of_text.setdefault(text, line)
        if first != line:
            groups.setdefault(first, [first]).append(line)
            if duplicates == "merge":
                row_of_line[line] = row_of_line[first]
                continue
            text = f"{text} Listed again as movie {int(items.ids[line])}."
        row_of_line[line] = len(ids)
        ids.append(int(items.ids[line]))
        texts.append(text)
        topics.append(primary[line])
        genres.append(items.genres[line])

    line_of_id = {int(i): k for k, i in enumerate(items.ids)}
    lines = np.array([line_of_id.get(int(i), -1) for i in raw.items], dtype=np.int64)
    unknown = np.flatnonzero(lines < 0)
    if unknown.size:
        k = int(unknown[0])
        raise MovieLensFormatError(
            data_path,
            int(raw.line_numbers[k]),
            f"a movie id listed in {item_path.name}",
            f"movie id {int(raw.items[k])} ({unknown.size} ratings of unlisted movie ids in all)",
        )
    _check_one_rating_per_movie(raw, data_path)
    rows = row_of_line[lines]
    order = np.lexsort((raw.line_numbers, raw.timestamps, raw.users))
    keep = order[rows[order] >= 0]
    # With merge a user may have rated two listings of one film: keep the earlier rating only.
    key = raw.users[keep] * (len(ids) + 1) + rows[keep]
    _, first = np.unique(key, return_index=True)
    second = keep.size - first.size
    keep = keep[np.sort(first)]
    dropped = {
        "placeholder_movies": int(placeholder.sum()),
        "placeholder_ratings": int(np.count_nonzero(rows < 0)),
        "second_ratings": int(second),
    }
    digest = hashlib.sha256()
    for file in (item_path, data_path):
        digest.update(file.read_bytes())
    return MovieLensData(
        folder=folder,
        ratings_file=ratings_file,
        items=items,
        row_of_line=row_of_line,
        ids=np.array(ids, dtype=np.int64),
        texts=tuple(texts),
        topics=tuple(topics),
        genres=tuple(genres),
        users=raw.users[keep],
        rows=rows[keep],
        ratings=raw.ratings[keep],
        timestamps=raw.timestamps[keep],
        duplicates=duplicates,
        duplicate_groups=tuple(tuple(int(items.ids[k]) for k in g) for g in groups.values()),
        dropped=dropped,
        fingerprint=digest.hexdigest(),
    )


def _check_one_rating_per_movie(raw: MovieLensRatings, path: Path) -> None:
    """Raise if a user rates one movie id twice (a malformed file: the real set has one rating per pair)."""
    if raw.users.size == 0:
        return
    key = raw.users * (int(raw.items.max()) + 1) + raw.items
    order = np.argsort(key, kind="stable")
    repeat = np.flatnonzero(key[order][1:] == key[order][:-1])
    if repeat.size:
        a, b = order[repeat[0]], order[repeat[0] + 1]
        raise MovieLensFormatError(
            path,
            int(raw.line_numbers[b]),
            f"one rating per user and movie (user {int(raw.users[b])} already rated movie "
            f"{int(raw.items[b])} on line {int(raw.line_numbers[a])})",
            "a second rating",
        )


def split_users(user_ids: np.ndarray, test_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The by-user train / test split used everywhere for MovieLens: (train ids, test ids), each sorted.

    The users are shuffled with ``seed`` and the first ``round(test_fraction * n)`` (at least one when
    ``test_fraction > 0``) are the test users; no user is in both.

    Args:
        user_ids: the users (any order; duplicates are ignored).
        test_fraction: share of users held out, in [0, 1).
        seed: seed of the shuffle.
    """
    test_fraction = check_float("test_fraction", test_fraction, low=0.0, high=1.0, high_open=True)
    seed = check_int("seed", seed, low=0)
    users = np.unique(np.asarray(user_ids, dtype=np.int64))
    n_test = 0 if test_fraction == 0 else max(1, int(round(test_fraction * users.size)))
    if n_test >= users.size:
        raise ValueError(
            f"test_fraction={test_fraction} of {users.size} users leaves no training user; lower it or add users."
        )
    shuffled = np.random.default_rng(seed).permutation(users)
    return np.sort(shuffled[n_test:]), np.sort(shuffled[:n_test])
