"""A seeded, full-size stand-in for MovieLens 100K, written in the ml-100k file format.

The real data set may not be redistributed (GroupLens licence), so tests and benchmarks run on this
generator's output instead; the real folder goes through the very same commands. What it writes has
the real set's size, heavy tails and quirks, so a loader that survives it survives the real one:

* 1,682 movies (``u.item``), 943 users (``u.user``), 100,000 ratings (``u.data``), every user with at
  least 20 ratings; ``u.genre``, ``u.occupation``, ``u.info`` and the five 80/20 splits
  ``u1.base`` / ``u1.test`` ... ``u5.base`` / ``u5.test`` (disjoint test sets, as in the real set).
* Rating counts per movie are heavy-tailed (Gini about 0.63; the top 10% of movies hold about 43% of
  the ratings); about 55% of ratings are 4 or 5 (the real set's shares of 1..5 are used).
* 18 movies appear twice, under two ids with identical title, date and genres; their 36 ids carry
  about 1,300 ratings and about 300 users rated both copies of one.
* Movie 267 is the placeholder ``unknown`` (no date, genre ``unknown``) and has a rating.
* Some release dates are missing; many are a re-release or video date whose year disagrees with the
  title's; some titles carry trailing spaces or a ``(V)`` suffix after the year; two have no year in
  the title; titles are Latin-1 (accents: "Café", "Señora", "Große", ...); a few zip codes are not
  five digits.

Ratings have structure a model can learn: each user has tastes over genres and over a few latent film
factors, each film a quality and a popularity; a user rates films they are drawn to (popular ones,
ones they like: missing not at random), and rates them by taste, quality, their own leniency and noise.
All titles are invented. Generation takes about a second.

Command line: ``python -m advrec_gym.movielens_synthetic OUT_DIR [--seed 0]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from advrec_gym._validation import check_int
from advrec_gym.movielens import GENRES

NUM_USERS, NUM_ITEMS, NUM_RATINGS = 943, 1682, 100_000
PLACEHOLDER_ID = 267
NUM_DUPLICATE_PAIRS = 18
MIN_RATINGS_PER_USER = 20
MAX_RATINGS_PER_USER = 737
#: the real set's shares of the ratings 1..5
RATING_SHARES = (0.0611, 0.1137, 0.2715, 0.3417, 0.2120)
#: how many movies carry each genre in the real set (the placeholder's "unknown" is added on its own)
GENRE_COUNTS = {
    "Action": 251, "Adventure": 135, "Animation": 42, "Children's": 122, "Comedy": 505, "Crime": 109,
    "Documentary": 50, "Drama": 725, "Fantasy": 22, "Film-Noir": 24, "Horror": 92, "Musical": 56,
    "Mystery": 61, "Romance": 247, "Sci-Fi": 101, "Thriller": 251, "War": 71, "Western": 27,
}  # fmt: skip
OCCUPATIONS = (
    "administrator", "artist", "doctor", "educator", "engineer", "entertainment", "executive", "healthcare",
    "homemaker", "lawyer", "librarian", "marketing", "none", "other", "programmer", "retired", "salesman",
    "scientist", "student", "technician", "writer",
)  # fmt: skip
FIRST_TIMESTAMP, LAST_TIMESTAMP = 874_724_710, 893_286_638  # the real set's range (Sep 1997 - Apr 1998)

# Log-popularity of the films: N(0, sigma), minus Exp(low_scale) for a share low_share (a long thin
# bottom), compressed by slope above cap (a thinner top); tuned to the real set's Gini and top-10% share.
_POPULARITY = (1.5, 0.45, 2.2, 2.0, 0.5)

_ADJECTIVES = (
    "Silent", "Broken", "Golden", "Last", "Hidden", "Crimson", "Lonely", "Wild", "Bitter", "Electric", "Frozen",
    "Burning", "Secret", "Lost", "Midnight", "Hollow", "Restless", "Savage", "Gentle", "Dark", "Bright", "Iron",
    "Paper", "Velvet", "Desert", "Northern", "Distant", "Quiet", "Dangerous", "Sweet", "Final", "Endless",
    "Invisible", "Little", "Big", "Strange", "Blue", "Red", "Black", "White", "Green", "Sleepless", "Fearless",
)  # fmt: skip
_NOUNS = (
    "Harbour", "River", "Kingdom", "Summer", "Winter", "Road", "City", "Heart", "Mirror", "Garden", "Station",
    "Island", "Promise", "Storm", "Shadow", "Empire", "Season", "Circus", "Frontier", "Affair", "Journey",
    "Orchard", "Ledger", "Lantern", "Horizon", "Machine", "Witness", "Stranger", "Hunter", "Dream", "Engine",
    "Valley", "Canyon", "Angel", "Ghost", "Rebel", "Diary", "Tide", "Carnival", "Fortune", "Voyage", "Night",
    "Signal", "Crossing", "Border", "Symphony", "Echo", "Legacy", "Bargain", "Masquerade", "Outpost", "Paradise",
)  # fmt: skip
_PLACES = (
    "Tomorrow", "the North", "Avalon", "the Delta", "Brooklyn", "the Moon", "Marrakesh", "Lisbon", "Kansas",
    "the Coast", "Vienna", "the Valley", "Yesterday", "Memphis", "Shanghai", "the Lake", "Rome", "Dublin",
)  # fmt: skip
_NAMES = ("Amy", "Max", "Rosa", "Leo", "Nora", "Jack", "Elsa", "Otto", "Ida", "Sam", "Lola", "Hugo", "Vera", "Theo")
# Foreign-language titles with the real set's shape "Original title (English title) (year)"; Latin-1 accents.
_FOREIGN = (
    ("Café", "Lumière", "Café of Light"), ("La Vie", "en Été", "Summer Life"), ("Señora", "del Mar", "Lady of the Sea"),
    ("Große", "Freiheit", "Great Freedom"), ("Ça", "Commence Aujourd'hui", "It Starts Today"),
    ("Niño", "Perdido", "Lost Boy"), ("Les Misérables", "du Quartier", "The Wretched of the Quarter"),
    ("Smörgåsbord", "", "Buffet"), ("Fräulein", "Else", "Miss Else"), ("Mañana", "Será Otro Día", "Tomorrow Is Another Day"),
    ("Le Chêne", "Fragile", "The Fragile Oak"), ("Øen", "i Havet", "The Island in the Sea"),
    ("À la Folie", "", "Madly"), ("Niña", "Bonita", "Pretty Girl"), ("Die Brücke", "am Fluß", "The Bridge on the River"),
    ("L'Été", "Meurtrier", "Deadly Summer"), ("Cidade", "Maravilhosa", "Marvellous City"),
    ("Belle Époque", "Tardive", "Late Belle Epoque"), ("Crème", "Brûlée", "Burnt Cream"), ("Él y Ella", "", "He and She"),
)  # fmt: skip
_ARTICLES = ("The", "A", "An")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def generate_movielens(path: str | os.PathLike, seed: int = 0, *, overwrite: bool = False) -> Path:
    """Write a synthetic ml-100k folder at ``path`` (atomically: into a temporary folder, then renamed).

    Args:
        path: the folder to create; it must not exist (or be empty) unless ``overwrite``.
        seed: the seed of everything in it (same seed, byte-identical files).
        overwrite: replace an existing folder at ``path``.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        FileExistsError: ``path`` exists, is not empty, and ``overwrite`` is False.
    """
    seed = check_int("seed", seed, low=0)
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"path={str(path)!r} is a file; give a folder for the synthetic ml-100k set.")
    if path.exists() and any(path.iterdir()) and not overwrite:
        raise FileExistsError(f"path={str(path)!r} exists and is not empty; pass overwrite=True to replace it.")
    files = build_files(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # an ordinary folder, not mkdtemp's owner-only one
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def build_files(seed: int = 0) -> dict[str, bytes]:
    """The synthetic set's files (name -> Latin-1 bytes), without writing them."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x4D4C]))
    movies = _movies(rng)
    users, items, ratings, stamps = _ratings(rng, movies)
    order = rng.permutation(len(users))
    users, items, ratings, stamps = users[order], items[order], ratings[order], stamps[order]
    rating_lines = _rating_lines(users, items, ratings, stamps)
    files = {
        "u.item": _lines(movies["lines"]),
        "u.data": "".join(rating_lines).encode("latin-1"),
        "u.user": _lines(_user_lines(rng)),
        "u.genre": _lines([f"{g}|{i}" for i, g in enumerate(GENRES)] + [""]),
        "u.occupation": _lines(OCCUPATIONS),
        "u.info": _lines([f"{NUM_USERS} users", f"{NUM_ITEMS} items", f"{NUM_RATINGS} ratings"]),
        "README": _lines(
            [
                "SYNTHETIC data in the MovieLens 100K format, written by advrec_gym.movielens_synthetic "
                f"(seed {seed}).",
                "It is NOT the MovieLens data set: every title, user and rating is invented.",
            ]
        ),
    }
    fold = rng.permutation(len(users)) % 5
    for k in range(5):
        for name, keep in ((f"u{k + 1}.base", fold != k), (f"u{k + 1}.test", fold == k)):
            sel = np.flatnonzero(keep)
            sel = sel[np.lexsort((items[sel], users[sel]))]  # sorted by user, then movie, as the real splits are
            files[name] = "".join(rating_lines[sel]).encode("latin-1")
    return files


# ---------------------------------------------------------------------------------------------- movies
def _movies(rng: np.random.Generator) -> dict:
    """Titles, dates, genres and latent traits of the 1,682 movie lines (duplicates share a film)."""
    ids = np.arange(1, NUM_ITEMS + 1)
    others = np.setdiff1d(ids, [PLACEHOLDER_ID])
    pair_ids = rng.choice(others, size=2 * NUM_DUPLICATE_PAIRS, replace=False).reshape(-1, 2)
    pair_ids.sort(axis=1)
    copy_of = {int(b): int(a) for a, b in pair_ids}  # later id -> earlier id (same film)
    films = [int(i) for i in ids if int(i) not in copy_of and int(i) != PLACEHOLDER_ID]
    genre_names = list(GENRE_COUNTS)
    genre_p = np.array(list(GENRE_COUNTS.values()), dtype=np.float64)
    genre_p /= genre_p.sum()
    title_of, date_of, genres_of = {}, {}, {}
    years = _years(rng, len(films))
    seen: set[str] = set()
    quirk = rng.permutation(len(films))  # which films get which quirk, disjointly
    trailing, video, no_year = set(quirk[:10]), set(quirk[10:13]), set(quirk[13:15])
    missing_date, foreign = set(quirk[15:17]), set(quirk[17 : 17 + 2 * len(_FOREIGN)])
    for k, movie_id in enumerate(films):
        year = int(years[k])
        name = _title(rng, seen, foreign=k in foreign)
        title = name if k in no_year else f"{name} ({year})"
        if k in video:
            title += " (V)"
        if k in trailing:
            title += " "
        title_of[movie_id] = title
        date_of[movie_id] = "" if k in missing_date else _date(rng, year)
        count = int(rng.choice(4, p=[0.5, 0.32, 0.14, 0.04])) + 1
        genres_of[movie_id] = set(rng.choice(genre_names, size=count, replace=False, p=genre_p).tolist())
    for copy, original in copy_of.items():
        title_of[copy], date_of[copy], genres_of[copy] = title_of[original], date_of[original], genres_of[original]
    title_of[PLACEHOLDER_ID], date_of[PLACEHOLDER_ID], genres_of[PLACEHOLDER_ID] = "unknown", "", {"unknown"}
    lines = []
    for movie_id in ids.tolist():
        title, date = title_of[movie_id], date_of[movie_id]
        url = (
            ""
            if movie_id == PLACEHOLDER_ID
            else "http://us.imdb.com/M/title-exact?" + title.strip().replace(" ", "%20")
        )
        flags = "|".join("1" if g in genres_of[movie_id] else "0" for g in GENRES)
        lines.append(f"{movie_id}|{title}|{date}||{url}|{flags}")
    film_of = np.array([copy_of.get(int(i), int(i)) for i in ids])  # movie id -> the film it shows
    genre_matrix = np.array([[g in genres_of[int(i)] for g in genre_names] for i in ids], dtype=np.float64)
    return {"lines": lines, "film_of": film_of, "genres": genre_matrix, "copy_of": copy_of}


def _years(rng: np.random.Generator, n: int) -> np.ndarray:
    """Release years shaped like the real set's: most in 1993-1998, a long tail back to the 1920s."""
    recent = rng.choice(np.arange(1990, 1999), size=n, p=np.array([2, 2, 3, 5, 9, 13, 16, 14, 6]) / 70)
    old = np.clip(np.round(1990 - rng.gamma(1.6, 14.0, size=n)), 1922, 1989).astype(np.int64)
    return np.where(rng.random(n) < 0.7, recent, old)


def _date(rng: np.random.Generator, year: int) -> str:
    """A release date: often "01-Jan-year"; for about a tenth a later re-release or video date."""
    if rng.random() < 0.1 and year < 1996:
        year = int(rng.integers(year + 1, 1999))  # the date disagrees with the title's year
    if rng.random() < 0.55:
        return f"01-Jan-{year}"
    return f"{int(rng.integers(1, 29)):02d}-{_MONTHS[int(rng.integers(12))]}-{year}"


def _title(rng: np.random.Generator, seen: set[str], *, foreign: bool) -> str:
    """A new invented title (unique among those drawn), sometimes with its article moved to the end."""
    while True:
        if foreign:
            head, tail, english = _FOREIGN[int(rng.integers(len(_FOREIGN)))]
            extra = _NOUNS[int(rng.integers(len(_NOUNS)))] if rng.random() < 0.5 else ""
            original = " ".join(w for w in (head, tail, extra) if w)
            name = f"{original} ({english})" if rng.random() < 0.6 else original
        else:
            pattern = int(rng.integers(5))
            adj, noun = _ADJECTIVES[int(rng.integers(len(_ADJECTIVES)))], _NOUNS[int(rng.integers(len(_NOUNS)))]
            if pattern == 0:
                name = f"{adj} {noun}"
            elif pattern == 1:
                name = f"{noun} of {_PLACES[int(rng.integers(len(_PLACES)))]}"
            elif pattern == 2:
                name = f"{_NAMES[int(rng.integers(len(_NAMES)))]} and the {adj} {noun}"
            elif pattern == 3:
                name = f"{adj} {noun} {int(rng.integers(2, 4))}" if rng.random() < 0.3 else f"{adj} {noun}s"
            else:
                name = f"{_NAMES[int(rng.integers(len(_NAMES)))]}'s {noun}"
            if pattern in (0, 1, 3) and rng.random() < 0.3:
                article = _ARTICLES[int(rng.integers(len(_ARTICLES)))]
                if article == "An" and name[0] not in "AEIOU":
                    article = "A"
                name = f"{name}, {article}"  # the real set's "Usual Suspects, The" style
        if name not in seen:
            seen.add(name)
            return name


# ---------------------------------------------------------------------------------------------- ratings
def _ratings(rng: np.random.Generator, movies: dict):
    """(user id, movie id, rating, timestamp) arrays of the 100,000 ratings."""
    n, genres, film_of = NUM_ITEMS, movies["genres"], movies["film_of"]
    film_row = film_of - 1  # a copy has its film's traits
    k_latent = 8
    # Films: popularity (log-normal, heavy-tailed), quality, latent factors; a copy is its film.
    sigma, low_share, low_scale, cap, slope = _POPULARITY
    log_pop = rng.normal(0.0, sigma, size=n) - (rng.random(n) < low_share) * rng.exponential(low_scale, size=n)
    log_pop = np.where(log_pop > cap, cap + slope * (log_pop - cap), log_pop)[film_row]  # a thinner top
    copies = np.array(sorted(movies["copy_of"])) - 1
    originals = np.array([movies["copy_of"][c + 1] for c in copies]) - 1
    log_pop[originals] = rng.normal(-0.3, 0.4, size=originals.size)  # the real duplicates are mid-table films
    quality = 0.5 * rng.standard_normal(n)[film_row] + 0.4 * (log_pop - log_pop.mean()) / log_pop.std()
    factors = rng.normal(0.0, 1.0 / np.sqrt(k_latent), size=(n, k_latent))[film_row]
    log_pop[PLACEHOLDER_ID - 1] = -6.0
    # Users: tastes over genres and latent factors, leniency, and how many films they rate.
    taste = rng.normal(0.0, 0.7, size=(NUM_USERS, genres.shape[1]))
    latent = rng.normal(0.0, 0.9, size=(NUM_USERS, k_latent))
    leniency = rng.normal(0.0, 0.4, size=NUM_USERS)
    counts = _ratings_per_user(rng)
    genre_norm = np.maximum(genres.sum(axis=1), 1.0) ** 0.5
    affinity = (taste @ genres.T) / genre_norm + latent @ factors.T  # (users, items)
    # Who rates what: popular films and films the user is drawn to (Gumbel top-k: without replacement).
    keys = log_pop[None, :] + 0.8 * affinity + rng.gumbel(size=affinity.shape)
    # A user who rates a film often rates its second listing too: the copy's key follows the original's.
    keys[:, copies] = keys[:, originals] - 0.6 + 0.5 * rng.standard_normal((NUM_USERS, copies.size))
    chosen = np.argsort(-keys, axis=1)
    user_rows = np.repeat(np.arange(NUM_USERS), counts)
    item_rows = np.concatenate([chosen[u, : counts[u]] for u in range(NUM_USERS)])
    item_rows = _every_item_rated(rng, user_rows, item_rows, counts)
    score = affinity[user_rows, item_rows] + quality[item_rows] + leniency[user_rows]
    score = score + rng.normal(0.0, 0.6, size=score.size)
    cuts = np.quantile(score, np.cumsum(RATING_SHARES)[:-1])
    ratings = np.searchsorted(cuts, score, side="right") + 1
    stamps = _timestamps(rng, counts)
    return user_rows + 1, item_rows + 1, ratings.astype(np.int64), stamps


def _every_item_rated(rng: np.random.Generator, user_rows, item_rows, counts) -> np.ndarray:
    """Give each unrated movie (the placeholder included) one rating, as every movie of the real set has.

    The rating replaces a random user's rating of a movie that has more than 50 ratings.
    """
    item_rows = item_rows.copy()
    per_item = np.bincount(item_rows, minlength=NUM_ITEMS)
    for item in np.flatnonzero(per_item == 0):
        rated = set()
        while True:
            k = int(rng.integers(len(item_rows)))
            user = user_rows[k]
            if per_item[item_rows[k]] > 50:
                start = int(np.sum(counts[:user]))
                rated = set(item_rows[start : start + counts[user]].tolist())
                if item not in rated:
                    break
        per_item[item_rows[k]] -= 1
        item_rows[k] = item
        per_item[item] += 1
    return item_rows


def _ratings_per_user(rng: np.random.Generator) -> np.ndarray:
    """Ratings per user: at least 20, heavy-tailed (median about 65), summing to exactly 100,000."""
    extra = rng.lognormal(3.85, 1.1, size=NUM_USERS)
    extra *= (NUM_RATINGS - MIN_RATINGS_PER_USER * NUM_USERS) / extra.sum()
    counts = np.minimum(MIN_RATINGS_PER_USER + np.floor(extra).astype(np.int64), MAX_RATINGS_PER_USER)
    while counts.sum() != NUM_RATINGS:  # hand out (or take back) the remainder one rating at a time
        short = NUM_RATINGS - counts.sum()
        room = np.flatnonzero(counts < MAX_RATINGS_PER_USER) if short > 0 else np.flatnonzero(counts > 40)
        pick = rng.choice(room, size=min(abs(int(short)), room.size), replace=False)
        counts[pick] += np.sign(short)
    return counts


def _timestamps(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """Each user's ratings in bursts (ties included) from a start date within the real set's range."""
    out = []
    for c in counts:
        gaps = np.where(rng.random(c) < 0.05, 0, rng.exponential(90.0, size=c)).astype(np.int64)
        gaps[rng.random(c) < 0.03] += rng.integers(86_400, 40 * 86_400)  # come back days later
        start = int(rng.integers(FIRST_TIMESTAMP, LAST_TIMESTAMP - 3 * 86_400))
        out.append(np.minimum(start + np.cumsum(gaps), LAST_TIMESTAMP))
    return np.concatenate(out)


def _user_lines(rng: np.random.Generator) -> list[str]:
    """``u.user``: id|age|gender|occupation|zip (a few Canadian-style zips, as in the real set)."""
    lines = []
    for u in range(1, NUM_USERS + 1):
        age = int(np.clip(rng.normal(33, 12), 7, 73))
        gender = "M" if rng.random() < 0.71 else "F"
        occupation = OCCUPATIONS[int(rng.integers(len(OCCUPATIONS)))]
        if rng.random() < 0.02:
            zip_code = f"{chr(65 + int(rng.integers(26)))}{int(rng.integers(10))}{chr(65 + int(rng.integers(26)))}{int(rng.integers(10))}{chr(65 + int(rng.integers(26)))}"
        else:
            zip_code = f"{int(rng.integers(0, 100_000)):05d}"
        lines.append(f"{u}|{age}|{gender}|{occupation}|{zip_code}")
    return lines


def _rating_lines(users, items, ratings, stamps) -> np.ndarray:
    """One ``user<TAB>item<TAB>rating<TAB>timestamp`` line per rating (an object array, to reorder)."""
    columns = (users.tolist(), items.tolist(), ratings.tolist(), stamps.tolist())
    return np.array([f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in zip(*columns, strict=True)], dtype=object)


def _lines(lines) -> bytes:
    return ("\n".join(lines) + "\n").encode("latin-1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m advrec_gym.movielens_synthetic",
        description="Write a synthetic, full-size ml-100k-format data set (invented titles, users and ratings).",
    )
    parser.add_argument("path", help="the folder to create")
    parser.add_argument("--seed", type=int, default=0, help="seed of everything in it")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing folder")
    args = parser.parse_args(argv)
    print(generate_movielens(args.path, args.seed, overwrite=args.overwrite))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
