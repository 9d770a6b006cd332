"""A detector of suspicious item-text edits: flag items whose rewrite moved their embedding too far.

A platform sees every item's text, before and after its provider edits it, and can re-encode both.
Ordinary rewrites (fixing a typo, a synonym, another word order) barely move a sentence embedding;
an edit made to be promoted moves it toward what the recommender rewards. Two scores per edited item,
from the previous embedding ``e`` and the new one ``e'`` (unit vectors, the recommender's encoder):

* ``"shift"``: ``||e' - e||_2``, the distance from the item's previous embedding;
* ``"topic"``: ``<e, c> - <e', c>`` with ``c`` the item's topic centroid in the previous catalogue,
  how far the edit moved the item out of its topic's neighbourhood;
* ``"direction"``: ``<e' - e, p>`` with ``p`` a unit **promotional direction** found zero-shot, as
  :func:`agents.heuristics.clickbait_direction` finds the clickbait one: the mean move of a few
  generic sentences of no topic when promotional words are added (:func:`promotional_direction`;
  the threat model's vocabulary is public, the catalogue's labels are never used). A synonym swap
  moves an embedding as far as a promotional tag does, but not in that direction.

The threshold is calibrated on **benign rewrites** (:func:`benign_rewrites`: synonym substitutions
from the shipped table, the edits an honest provider makes) at a stated false-positive rate:
``fit`` takes their scores' ``1 - fpr`` quantile. :func:`precision_recall` scores flags against
labels (attacked vs clean or benign).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from advrec_gym._validation import check_choice, check_float, check_int
from advrec_gym.attacks.text.edits import Edit, tokens
from advrec_gym.attacks.text.vocabulary import SYNONYMS

SCORES = ("shift", "topic", "direction")

#: generic sentences of no topic for the zero-shot promotional direction
NEUTRAL_SENTENCES = (
    "A book about a family. Tags: family, book.",
    "A film about a small town. Tags: town, film.",
    "A podcast about work and money. Tags: money, podcast.",
    "An album recorded by a band on tour. Tags: music, album.",
)
PROMOTION_WORDS = ("acclaimed", "award-winning", "must-see")


def promotional_direction(encoder, words=PROMOTION_WORDS) -> np.ndarray:
    """Unit vector of the mean embedding move when ``words`` are added as tags to :data:`NEUTRAL_SENTENCES`."""
    plain = [tokens(t) for t in NEUTRAL_SENTENCES]
    promoted = []
    for toks in plain:
        for w in words:
            toks = Edit("tag", 0, w).apply(toks)
        promoted.append(" ".join(toks))
    d = encoder.encode(promoted).mean(axis=0) - encoder.encode(list(NEUTRAL_SENTENCES)).mean(axis=0)
    return (d / np.linalg.norm(d)).astype(np.float32)


def edit_scores(
    previous: np.ndarray,
    current: np.ndarray,
    score: str = "shift",
    centroids: np.ndarray | None = None,
    direction: np.ndarray | None = None,
) -> np.ndarray:
    """Per row, the detector's score of the move from ``previous`` to ``current`` (both (n, dim)).

    ``centroids`` (n, dim) holds each row's topic centroid (``score="topic"``); ``direction`` (dim,)
    the promotional direction (``score="direction"``).
    """
    check_choice("score", score, SCORES)
    prev, cur = np.asarray(previous, np.float64), np.asarray(current, np.float64)
    if prev.shape != cur.shape or prev.ndim != 2:
        raise ValueError(f"previous and current must be (n, dim) of one shape, got {prev.shape} and {cur.shape}.")
    if score == "shift":
        return np.linalg.norm(cur - prev, axis=1)
    if score == "direction":
        if direction is None or np.shape(direction) != (prev.shape[1],):
            raise ValueError(f"score='direction' needs direction of shape ({prev.shape[1]},) (promotional_direction).")
        return (cur - prev) @ np.asarray(direction, np.float64)
    if centroids is None or np.shape(centroids) != prev.shape:
        raise ValueError(f"score='topic' needs centroids of shape {prev.shape} (each row's topic centroid).")
    c = np.asarray(centroids, np.float64)
    return (prev * c).sum(1) - (cur * c).sum(1)


@dataclass
class EditDetector:
    """Flags an edit whose score exceeds ``threshold`` (set it, or :meth:`fit` it on benign rewrites).

    Args:
        score: ``"shift"`` or ``"topic"`` (see the module docstring).
        fpr: the false-positive rate on benign rewrites that :meth:`fit` aims for, in (0, 1).
        threshold: the decision threshold (``None`` until fitted).
        direction: the promotional direction, for ``score="direction"``.
    """

    score: str = "shift"
    fpr: float = 0.05
    threshold: float | None = None
    direction: np.ndarray | None = None

    def __post_init__(self):
        check_choice("score", self.score, SCORES)
        check_float("fpr", self.fpr, low=0.0, high=1.0, low_open=True, high_open=True)

    def fit(self, previous: np.ndarray, benign: np.ndarray, centroids: np.ndarray | None = None) -> EditDetector:
        """Set the threshold to the ``1 - fpr`` quantile of benign rewrites' scores."""
        s = edit_scores(previous, benign, self.score, centroids, self.direction)
        if s.size == 0:
            raise ValueError("fit needs at least one benign rewrite, got none.")
        self.threshold = float(np.quantile(s, 1.0 - self.fpr))
        return self

    def flag(self, previous: np.ndarray, current: np.ndarray, centroids: np.ndarray | None = None) -> np.ndarray:
        """Bool per row: the edit is suspicious (an unedited row, ``current == previous``, is never flagged)."""
        if self.threshold is None:
            raise ValueError("the detector has no threshold: set threshold=... or call fit() on benign rewrites first.")
        s = edit_scores(previous, current, self.score, centroids, self.direction)
        moved = np.any(np.asarray(previous) != np.asarray(current), axis=1)
        return moved & (s > self.threshold)


def precision_recall(flags: np.ndarray, attacked: np.ndarray) -> dict[str, float]:
    """Precision, recall and false-positive rate of ``flags`` against the ``attacked`` labels (bool arrays)."""
    flags, attacked = np.asarray(flags, bool), np.asarray(attacked, bool)
    if flags.shape != attacked.shape:
        raise ValueError(f"flags and attacked must have one shape, got {flags.shape} and {attacked.shape}.")
    tp, fp = int((flags & attacked).sum()), int((flags & ~attacked).sum())
    positives, negatives = int(attacked.sum()), int((~attacked).sum())
    return {
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "recall": tp / positives if positives else float("nan"),
        "false_positive_rate": fp / negatives if negatives else float("nan"),
        "positives": positives,
        "negatives": negatives,
    }


def benign_rewrites(texts, rows, max_edits: int, seed: int) -> dict[int, str]:
    """Honest rewrites of ``rows``: 1 to ``max_edits`` synonym substitutions each (the shipped table), seeded.

    Rows without a substitutable word are left out; a rewrite that equals another text is dropped.
    """
    max_edits = check_int("max_edits", max_edits, low=1)
    rng = np.random.default_rng([check_int("seed", seed, low=0), 0xBE9])
    taken, out = set(texts), {}
    for row in rows:
        toks = tokens(texts[row])
        slots = [j for j, t in enumerate(toks) if SYNONYMS.get(t.strip(".,;:!?\"'()").lower())]
        if not slots:
            continue
        k = int(rng.integers(1, min(max_edits, len(slots)) + 1))
        for j in rng.choice(slots, size=k, replace=False):
            options = SYNONYMS[toks[j].strip(".,;:!?\"'()").lower()]
            toks = Edit("sub", int(j), options[int(rng.integers(len(options)))]).apply(toks)
        text = " ".join(toks)
        if text not in taken:
            out[int(row)] = text
            taken.add(text)
    return out
