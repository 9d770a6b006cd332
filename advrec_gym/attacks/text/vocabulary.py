"""The word lists a text attacker may draw new words from, shipped with the package (no downloads).

Two sources, both small enough to read:

* :data:`PROMOTIONAL`: words a content provider plausibly adds to an item's title, description or
  tags to make it look better -- praise ("acclaimed", "award-winning"), reach ("bestselling",
  "popular"), depth ("in-depth", "expert") and urgency ("essential", "must-see"). These are the
  words that make a recommender that learned "quality texts keep users" promote an item, so the
  threat model names them explicitly rather than allowing any word of the tokenizer.
* :data:`SYNONYMS`: hand-written near-synonyms of words that occur in AdvRec's synthetic item
  texts (formats, adjectives, common nouns): the only words a **substitution** may bring in, so a
  substituted text keeps its meaning (the same table makes the *benign* rewrites that the edit
  detector must not flag).

:func:`default_vocabulary` is :data:`PROMOTIONAL`, sorted: the words an **insertion** may add.
"""

from __future__ import annotations

from collections.abc import Iterable

PROMOTIONAL: tuple[str, ...] = (
    "acclaimed", "award-winning", "bestselling", "brilliant", "captivating", "celebrated", "classic",
    "definitive", "essential", "exceptional", "expert", "extraordinary", "fascinating", "groundbreaking",
    "honest", "in-depth", "insightful", "landmark", "legendary", "masterful", "memorable", "must-see",
    "outstanding", "popular", "powerful", "praised", "recommended", "remarkable", "rewarding", "stunning",
    "superb", "thoughtful", "timeless", "top-rated", "trusted", "unmissable", "wonderful", "researched",
)  # fmt: skip

SYNONYMS: dict[str, tuple[str, ...]] = {
    "novel": ("book", "story"),
    "documentary": ("film", "feature"),
    "podcast": ("show", "series"),
    "film": ("movie", "picture"),
    "series": ("show", "programme"),
    "album": ("record", "LP"),
    "collection": ("anthology", "selection"),
    "stories": ("tales", "narratives"),
    "about": ("on", "concerning"),
    "follows": ("tracks", "shadows"),
    "young": ("youthful", "teenage"),
    "small": ("little", "tiny"),
    "old": ("aged", "former"),
    "family": ("household", "clan"),
    "warm": ("cosy", "gentle"),
    "gritty": ("raw", "tough"),
    "thrilling": ("exciting", "gripping"),
    "chilling": ("eerie", "haunting"),
    "gentle": ("soft", "calm"),
    "dramatic": ("striking", "intense"),
    "first": ("initial", "debut"),
    "last": ("final", "closing"),
    "team": ("crew", "squad"),
    "town": ("village", "community"),
    "night": ("evening", "dark"),
    "shocking": ("startling", "surprising"),
    "secret": ("hidden", "private"),
    "incredible": ("amazing", "astonishing"),
}


def default_vocabulary() -> tuple[str, ...]:
    """The words an insertion may add by default: :data:`PROMOTIONAL`, sorted and unique."""
    return tuple(sorted(set(PROMOTIONAL)))


def check_synonyms(name: str, table) -> dict[str, tuple[str, ...]]:
    """Validate a synonym table (word -> its substitutes), returned with lower-case keys and tuple values."""
    if not isinstance(table, dict):
        raise TypeError(f"{name} must be a dict of word -> substitutes, got {type(table).__name__}.")
    out = {}
    for word, options in table.items():
        if not isinstance(word, str) or not word or any(c.isspace() for c in word):
            raise ValueError(f"{name} keys must be single words, got {word!r}.")
        out[word.lower()] = check_vocabulary(f"{name}[{word!r}]", options)
    return out


def synonyms_of(word: str) -> tuple[str, ...]:
    """Near-synonyms of ``word`` from :data:`SYNONYMS` (matched case-insensitively, punctuation aside)."""
    return SYNONYMS.get(word.strip(".,;:!?").lower(), ())


def check_vocabulary(name: str, words: Iterable[str]) -> tuple[str, ...]:
    """Validate a vocabulary: a non-empty collection of single words (no spaces), returned sorted and unique.

    Raises:
        TypeError: ``words`` is a string (a common slip for a one-word list) or holds non-strings.
        ValueError: it is empty, or a word is empty or contains whitespace.
    """
    if isinstance(words, str):
        raise TypeError(
            f"{name} must be a collection of words, not one string; got {name}={words!r} (use [{words!r}])."
        )
    try:
        items = list(words)
    except TypeError:
        raise TypeError(f"{name} must be a collection of words, got {type(words).__name__}.") from None
    if not items:
        raise ValueError(f"{name} must hold at least one word, got an empty collection.")
    for w in items:
        if not isinstance(w, str):
            raise TypeError(f"{name} must hold strings, got {w!r} ({type(w).__name__}).")
        if not w or w != w.strip() or any(c.isspace() for c in w):
            raise ValueError(f"{name} must hold single words without whitespace, got {w!r}.")
    return tuple(sorted(set(items)))
