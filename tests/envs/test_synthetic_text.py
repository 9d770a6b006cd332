"""Tests for the readable synthetic catalogue generator (no language model needed)."""

from collections import Counter

import numpy as np
import pytest

from advrec_gym.synthetic_text import TOPICS, generate_items


def _gen(num_items=120, num_topics=12, seed=0):
    return generate_items(num_items, num_topics, np.random.default_rng(seed))


def test_topics_are_many_and_distinct():
    assert len(TOPICS) >= 30
    assert len(set(TOPICS)) == len(TOPICS)
    assert all(isinstance(t, str) and t for t in TOPICS)


@pytest.mark.parametrize("num_items,num_topics", [(1, 1), (7, 3), (120, 12), (400, 20), (93, len(TOPICS))])
def test_lengths_types_and_uniqueness(num_items, num_topics):
    titles, texts, topics = generate_items(num_items, num_topics, np.random.default_rng(1))
    assert len(titles) == len(texts) == len(topics) == num_items
    assert all(type(x) is str for x in titles + texts + topics)
    assert len(set(texts)) == num_items
    assert set(topics) <= set(TOPICS[:num_topics])


def test_text_structure():
    titles, texts, _ = _gen()
    for title, text in zip(titles, texts, strict=True):
        assert text.startswith(title + ". ")
        sentence, tags = text[len(title) + 2 :].split(" Tags: ")
        assert sentence[0].isupper() and sentence.endswith(".")
        assert len(sentence.split()) >= 8
        assert tags.endswith(".") and len(tags.rstrip(".").split(", ")) == 3


def test_same_seed_gives_identical_output():
    assert _gen(seed=42) == _gen(seed=42)


def test_other_seed_gives_different_output():
    titles_a, texts_a, topics_a = _gen(seed=1)
    titles_b, texts_b, topics_b = _gen(seed=2)
    assert texts_a != texts_b
    assert topics_a != topics_b  # the topic order is shuffled with the rng too
    assert Counter(topics_a) == Counter(topics_b)  # ... but the balance is the same


def test_only_the_given_rng_is_used():
    np.random.seed(0)  # noqa: NPY002 - the generator must ignore the global state
    first = _gen(seed=5)
    np.random.seed(123)  # noqa: NPY002
    np.random.random(10)  # noqa: NPY002
    assert _gen(seed=5) == first


def test_rng_state_advances():
    rng = np.random.default_rng(3)
    first = generate_items(50, 5, rng)
    second = generate_items(50, 5, rng)
    assert first[1] != second[1]


@pytest.mark.parametrize("num_items,num_topics", [(100, 20), (101, 20), (119, 20), (10, 3), (31, 31), (5, 7)])
def test_topic_balance_and_coverage(num_items, num_topics):
    _, _, topics = generate_items(num_items, num_topics, np.random.default_rng(0))
    counts = Counter(topics)
    expected = TOPICS[:num_topics] if num_items >= num_topics else None
    if expected is not None:
        assert set(counts) == set(expected)  # every topic used
    else:
        assert len(counts) == num_items  # fewer items than topics: all distinct
        assert set(counts) <= set(TOPICS[:num_topics])
    assert max(counts.values()) - min(counts.values()) <= 1


def test_topics_are_shuffled_not_round_robin():
    _, _, topics = _gen(num_items=60, num_topics=6)
    round_robin = [TOPICS[i % 6] for i in range(60)]
    assert topics != round_robin


def test_texts_of_one_topic_share_vocabulary():
    _, texts, topics = _gen(num_items=200, num_topics=10, seed=7)

    def words(t):
        return set(t.lower().replace(".", " ").replace(",", " ").split())

    same, cross = [], []
    for i in range(0, 200, 3):
        for j in range(i + 1, 200, 7):
            wi, wj = words(texts[i]), words(texts[j])
            jac = len(wi & wj) / len(wi | wj)
            (same if topics[i] == topics[j] else cross).append(jac)
    assert np.mean(same) > 1.5 * np.mean(cross)


def test_large_catalogue_is_unique():
    _, texts, _ = generate_items(3000, 3, np.random.default_rng(0))
    assert len(set(texts)) == 3000


@pytest.mark.parametrize("bad", [0, -3, 2.0, "10", None, True, 1.5])
def test_bad_num_items_raises(bad):
    with pytest.raises(ValueError, match="num_items") as info:
        generate_items(bad, 3, np.random.default_rng(0))
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize("bad", [0, -1, len(TOPICS) + 1, 50, 3.0, "3", None, True])
def test_bad_num_topics_raises(bad):
    with pytest.raises(ValueError, match="num_topics") as info:
        generate_items(10, bad, np.random.default_rng(0))
    assert repr(bad) in str(info.value)
    assert f"[1, {len(TOPICS)}]" in str(info.value)


@pytest.mark.parametrize("bad", [None, 0, np.random.RandomState(0)])
def test_bad_rng_raises(bad):
    with pytest.raises(ValueError, match="rng"):
        generate_items(10, 3, bad)


def test_numpy_integers_are_accepted():
    titles, texts, topics = generate_items(np.int64(12), np.int32(4), np.random.default_rng(0))
    assert len(texts) == 12 and set(topics) == set(TOPICS[:4])


def test_impossible_uniqueness_raises(monkeypatch):
    import advrec_gym.synthetic_text as st

    monkeypatch.setattr(st, "_make_item", lambda topic, rng: ("Same", "Same. Same."))
    monkeypatch.setattr(st, "_MAX_TRIES", 20)
    with pytest.raises(ValueError, match="num_items=2") as info:
        st.generate_items(2, 1, np.random.default_rng(0))
    assert "num_topics=1" in str(info.value)
