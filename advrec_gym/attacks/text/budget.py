"""The text attacker's budget: which items it controls and how far it may rewrite each text.

See docs/text_attacks.md for the threat model. An edited text is **admissible** when

* it differs from the original by at most ``max_edits`` word edits (word-level Levenshtein
  distance, see :mod:`.edits`);
* every word it adds is a listed synonym of a word of the original (``synonyms``, the shipped
  table) or an insertable word (``vocabulary``, default the shipped promotional words);
* with ``insert_at="tags"`` (the default) its body (everything before ``"Tags:"``) has as many words
  as the original's and gains synonyms only: insertable words go to the tag list;
* its chrF against the original (:func:`~advrec_gym.attacks.text.similarity.chrf`, a measure
  independent of the attacked encoder) is at least ``min_similarity``;
* and it is the text of no other item (the catalogue's texts are unique; a colliding candidate is
  skipped by the attacks, never applied).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from advrec_gym._validation import check_choice, check_float, check_int
from advrec_gym.attacks.text.edits import new_words, split_tags, text_edit_distance, words
from advrec_gym.attacks.text.similarity import chrf
from advrec_gym.attacks.text.vocabulary import SYNONYMS, check_synonyms, check_vocabulary, default_vocabulary

INSERT_AT = ("tags", "anywhere", "nowhere")
TARGET_POOLS = ("low_quality", "any")


@dataclass(frozen=True)
class EditCheck:
    """Whether one rewrite is admissible, and its measurements."""

    admissible: bool
    edits: int
    similarity: float
    reason: str = ""


@dataclass(frozen=True)
class TextBudget:
    """What a text attacker may do.

    Attributes:
        max_edits: most word edits per item text (>= 1).
        min_similarity: least chrF of the edited text against the original, in [0, 1].
        vocabulary: the words an insertion may add (single words).
        synonyms: word -> the words a substitution may put in its place (empty: no substitutions).
        insert_at: ``"tags"`` (insertions extend the tag list), ``"anywhere"`` or ``"nowhere"``.
        share: share of the catalogue the attacker controls when ``targets`` is not given, in (0, 1]
            (at least one item).
        targets: catalogue rows the attacker controls (``None``: drawn, see :meth:`select_targets`).
        pool: where drawn targets come from: ``"low_quality"`` (items with hidden quality < 0, the
            spam / clickbait providers information filtering is about; all items when none is) or
            ``"any"``.
    """

    max_edits: int = 3
    min_similarity: float = 0.85
    vocabulary: tuple[str, ...] = field(default_factory=default_vocabulary)
    synonyms: dict = field(default_factory=lambda: dict(SYNONYMS))
    insert_at: str = "tags"
    share: float = 0.01
    targets: tuple[int, ...] | None = None
    pool: str = "low_quality"

    def __post_init__(self):
        check_int("max_edits", self.max_edits, low=1)
        check_float("min_similarity", self.min_similarity, low=0.0, high=1.0)
        object.__setattr__(self, "vocabulary", check_vocabulary("vocabulary", self.vocabulary))
        object.__setattr__(self, "synonyms", check_synonyms("synonyms", self.synonyms))
        check_choice("insert_at", self.insert_at, INSERT_AT)
        check_float("share", self.share, low=0.0, high=1.0, low_open=True)
        check_choice("pool", self.pool, TARGET_POOLS)
        if self.targets is not None:
            if isinstance(self.targets, (str, bytes)) or not isinstance(self.targets, Sequence | np.ndarray):
                raise TypeError(f"targets must be a sequence of catalogue rows or None, got targets={self.targets!r}.")
            rows = tuple(check_int("targets", t, low=0) for t in self.targets)
            if not rows:
                raise ValueError("targets must name at least one catalogue row, got an empty sequence.")
            if len(set(rows)) != len(rows):
                raise ValueError(f"targets must be distinct catalogue rows, got targets={rows}.")
            object.__setattr__(self, "targets", rows)

    @property
    def operations(self) -> tuple[str, ...]:
        """The edit kinds this budget allows (see :mod:`.edits`)."""
        ops = ("sub",) if self.synonyms else ()
        return ops + {"tags": ("tag",), "anywhere": ("tag", "ins"), "nowhere": ()}[self.insert_at]

    def substitutes(self, word: str) -> tuple[str, ...]:
        """What a substitution may put in place of ``word``."""
        return self.synonyms.get(word.strip(".,;:!?\"'()").lower(), ())

    def select_targets(self, catalogue, seed: int) -> np.ndarray:
        """The attacked rows (sorted): ``targets`` checked against the catalogue, or a seeded draw of
        ``max(1, round(share * num_items))`` rows from ``pool``."""
        n = catalogue.num_items
        if self.targets is not None:
            bad = [t for t in self.targets if t >= n]
            if bad:
                raise ValueError(f"targets must be catalogue rows in [0, {n - 1}], got {bad[:5]} (num_items={n}).")
            return np.array(sorted(self.targets), dtype=np.int64)
        pool = np.arange(n)
        if self.pool == "low_quality" and catalogue.low_quality.any():
            pool = np.flatnonzero(catalogue.low_quality)
        k = min(max(1, int(round(self.share * n))), len(pool))
        rng = np.random.default_rng([check_int("seed", seed, low=0), 0x7E47])
        return np.sort(rng.choice(pool, size=k, replace=False)).astype(np.int64)

    def check(self, original: str, edited: str) -> EditCheck:
        """Whether ``edited`` is an admissible rewrite of ``original`` (collisions are checked by the caller)."""
        n_edits = text_edit_distance(original, edited)
        sim = chrf(original, edited)
        if n_edits > self.max_edits:
            return EditCheck(False, n_edits, sim, f"{n_edits} word edits > max_edits={self.max_edits}")
        synonyms = {s.lower() for w in set(words(original)) for s in self.synonyms.get(w, ())}
        insertable = {w.lower() for w in self.vocabulary} if self.insert_at != "nowhere" else set()
        if self.insert_at == "anywhere":
            parts = [(original, edited, synonyms | insertable)]
        else:  # the body may gain synonyms only; the tag list may gain insertable words too
            (body0, tags0), (body1, tags1) = split_tags(original), split_tags(edited)
            if len(words(body1)) != len(words(body0)):
                return EditCheck(
                    False, n_edits, sim, f"inserts words outside the tag list (insert_at={self.insert_at!r})"
                )
            parts = [(body0, body1, synonyms), (tags0, tags1, synonyms | insertable)]
        for before, after, allowed in parts:
            outside = [w for w in new_words(before, after) if w not in allowed]
            if outside:
                return EditCheck(False, n_edits, sim, f"adds words outside the vocabulary and synonyms: {outside[:3]}")
        if sim < self.min_similarity:
            return EditCheck(False, n_edits, sim, f"chrF {sim:.3f} < min_similarity={self.min_similarity}")
        return EditCheck(True, n_edits, sim)

    def to_dict(self) -> dict:
        return {
            "max_edits": self.max_edits,
            "min_similarity": self.min_similarity,
            "vocabulary_size": len(self.vocabulary),
            "synonym_entries": len(self.synonyms),
            "insert_at": self.insert_at,
            "share": self.share,
            "targets": None if self.targets is None else list(self.targets),
            "pool": self.pool,
        }
