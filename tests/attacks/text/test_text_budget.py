"""The text threat model's pieces: budget validation, admissibility, edits, chrF, target selection."""

from __future__ import annotations

import numpy as np
import pytest

from advrec_gym.attacks.text import Edit, TextBudget, chrf, word_edit_distance
from advrec_gym.attacks.text.edits import text_edit_distance, tokens

TEXT = "The Last Orbit. A gritty novel about two astronauts. Tags: space, novel."


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_edits": 0}, ValueError, "max_edits"),
        ({"max_edits": 1.5}, TypeError, "max_edits"),
        ({"min_similarity": 1.5}, ValueError, "min_similarity"),
        ({"vocabulary": "acclaimed"}, TypeError, "vocabulary must be a collection of words, not one string"),
        ({"vocabulary": []}, ValueError, "vocabulary must hold at least one word"),
        ({"vocabulary": ["two words"]}, ValueError, "single words"),
        ({"synonyms": {"novel": "book"}}, TypeError, "synonyms\\['novel'\\]"),
        ({"insert_at": "tag"}, ValueError, "Did you mean 'tags'"),
        ({"share": 0.0}, ValueError, "share"),
        ({"pool": "bad"}, ValueError, "pool"),
        ({"targets": [3, 3]}, ValueError, "distinct"),
        ({"targets": []}, ValueError, "at least one"),
        ({"targets": [-1]}, ValueError, "targets"),
        ({"targets": "3"}, TypeError, "targets"),
    ],
)
def test_bad_budget_names_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        TextBudget(**kwargs)


def test_edits_keep_punctuation_and_capitals():
    toks = tokens(TEXT)
    assert " ".join(Edit("sub", 4, "raw").apply(toks)) == TEXT.replace("gritty", "raw")
    assert " ".join(Edit("sub", 1, "final").apply(toks)) == TEXT.replace("Last", "Final")
    assert " ".join(Edit("sub", 11, "book").apply(toks)) == TEXT.replace("novel.", "book.")
    assert " ".join(Edit("tag", len(toks), "acclaimed").apply(toks)).endswith("Tags: space, novel, acclaimed.")
    assert " ".join(Edit("ins", 4, "acclaimed").apply(toks)).startswith("The Last Orbit. A acclaimed gritty")


def test_word_edit_distance_counts_words():
    assert word_edit_distance(["a", "b", "c"], ["a", "x", "c"]) == 1
    assert word_edit_distance(["a", "b"], ["a", "b", "c", "d"]) == 2
    assert word_edit_distance([], ["a"]) == 1
    # a tag append changes "novel." to "novel," too, but punctuation is not a word edit
    tagged = " ".join(Edit("tag", 0, "acclaimed").apply(tokens(TEXT)))
    assert text_edit_distance(TEXT, tagged) == 1


def test_chrf_hand_computed():
    assert chrf(TEXT, TEXT) == 1.0
    assert chrf("ab", "ab ") == 1.0  # whitespace is ignored
    # n=1: {a, b} vs {a, c}: P = R = 1/2; n=2: {ab} vs {ac}: P = R = 0; no 3-grams.
    # P = R = 1/4 averaged over the orders, so F_2 = 5 PR / (4P + R) = 1/4.
    assert chrf("ab", "ac") == pytest.approx(0.25)
    assert chrf("abc", "xyz") == 0.0
    one_word = TEXT.replace("gritty", "raw")
    assert 0.85 < chrf(TEXT, one_word) < 1.0


def test_check_admissibility():
    budget = TextBudget(max_edits=2, min_similarity=0.8)
    toks = tokens(TEXT)
    ok = " ".join(Edit("tag", 0, "acclaimed").apply(Edit("sub", 4, "raw").apply(toks)))
    check = budget.check(TEXT, ok)
    assert check.admissible and check.edits == 2 and check.similarity == pytest.approx(chrf(TEXT, ok))
    three = " ".join(Edit("tag", 0, "superb").apply(tokens(ok)))
    assert not budget.check(TEXT, three).admissible and "max_edits=2" in budget.check(TEXT, three).reason
    outside = TEXT.replace("gritty", "wonderful-ish")
    assert "outside the vocabulary" in budget.check(TEXT, outside).reason
    not_a_synonym = TEXT.replace("gritty", "acclaimed")  # insertable, but no synonym of "gritty": not in the body
    assert "outside the vocabulary" in budget.check(TEXT, not_a_synonym).reason
    assert TextBudget(insert_at="anywhere", min_similarity=0.5).check(TEXT, not_a_synonym).admissible
    in_body = " ".join(Edit("ins", 4, "acclaimed").apply(toks))
    assert "outside the tag list" in budget.check(TEXT, in_body).reason
    assert TextBudget(insert_at="anywhere", min_similarity=0.5).check(TEXT, in_body).admissible
    strict = TextBudget(min_similarity=0.99)
    assert "min_similarity" in strict.check(TEXT, TEXT.replace("gritty", "raw")).reason


def test_select_targets(bow, make_catalogue):
    cat = make_catalogue(bow)  # 24 items; rows 0, 3, 6, ... have quality < 0
    drawn = TextBudget(share=0.2).select_targets(cat, seed=0)
    assert len(drawn) == 5 and np.all(cat.quality[drawn] < 0)  # round(0.2 * 24) = 5, from the 8 low-quality items
    assert np.array_equal(drawn, TextBudget(share=0.2).select_targets(cat, seed=0))
    assert not np.array_equal(drawn, TextBudget(share=0.2).select_targets(cat, seed=1))
    assert len(TextBudget(share=0.001).select_targets(cat, seed=0)) == 1
    assert TextBudget(share=0.2, pool="any").select_targets(cat, seed=3).max() < 24
    assert TextBudget(targets=(5, 2)).select_targets(cat, seed=0).tolist() == [2, 5]
    with pytest.raises(ValueError, match=r"targets must be catalogue rows in \[0, 23\], got \[30\]"):
        TextBudget(targets=(30,)).select_targets(cat, seed=0)
