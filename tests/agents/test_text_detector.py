"""The text-edit detector on a hand-made case, and the benign rewrites it is calibrated on."""

from __future__ import annotations

import numpy as np
import pytest

from advrec_gym.attacks.text import TextBudget
from agents.defences.text_detector import EditDetector, benign_rewrites, edit_scores, precision_recall


def unit(angle):
    return np.stack([np.cos(angle), np.sin(angle)], axis=1)


def test_detector_hand_made():
    prev = unit(np.zeros(6))  # six items at (1, 0)
    # benign rewrites move by angles 0.01 .. 0.05 rad; the chord length is 2 sin(a / 2) ~ a
    benign = unit(np.array([0.01, 0.02, 0.03, 0.04, 0.05, 0.05]))
    det = EditDetector(fpr=0.2).fit(prev, benign)
    assert det.threshold == pytest.approx(2 * np.sin(0.05 / 2))  # the 0.8 quantile of the six scores
    # three attacked items (0.3 rad), one benign-sized edit (0.02), two unedited
    current = unit(np.array([0.3, 0.3, 0.3, 0.02, 0.0, 0.0]))
    attacked = np.array([True, True, True, False, False, False])
    flags = det.flag(prev, current)
    assert flags.tolist() == attacked.tolist()
    assert precision_recall(flags, attacked) == {"precision": 1.0, "recall": 1.0, "false_positive_rate": 0.0,
                                                 "positives": 3, "negatives": 3}  # fmt: skip
    # a stricter detector (threshold above the attacks) misses them all
    assert precision_recall(EditDetector(threshold=0.5).flag(prev, current), attacked)["recall"] == 0.0


def test_topic_score_and_errors():
    prev = unit(np.array([0.0, 0.0]))
    cur = unit(np.array([0.0, np.pi / 2]))  # the second item leaves its topic (centroid (1, 0)) entirely
    cents = unit(np.zeros(2))
    assert edit_scores(prev, cur, "topic", cents).tolist() == pytest.approx([0.0, 1.0])
    # the direction score is the move's projection on the promotional direction
    assert edit_scores(prev, cur, "direction", direction=np.array([0.0, 1.0])).tolist() == pytest.approx([0.0, 1.0])
    with pytest.raises(ValueError, match="direction"):
        edit_scores(prev, cur, "direction")
    with pytest.raises(ValueError, match="centroids"):
        edit_scores(prev, cur, "topic")
    with pytest.raises(ValueError, match="Did you mean 'shift'"):
        EditDetector(score="shfit")
    with pytest.raises(ValueError, match="no threshold"):
        EditDetector().flag(prev, cur)


def test_benign_rewrites_are_admissible_synonym_swaps():
    texts = ("A gritty novel about a young team. Tags: sport, novel.", "Nothing to swap here. Tags: x.")
    out = benign_rewrites(texts, [0, 1], max_edits=2, seed=0)
    assert list(out) == [0]  # row 1 has no word in the synonym table
    check = TextBudget(max_edits=2, min_similarity=0.5).check(texts[0], out[0])
    assert check.admissible and 1 <= check.edits <= 2
    assert out == benign_rewrites(texts, [0, 1], max_edits=2, seed=0)
