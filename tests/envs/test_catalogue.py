"""Catalogue invariants and the errors of its builders (the MovieLens reader has its own tests)."""

from __future__ import annotations

import numpy as np
import pytest

from advrec_gym import Catalogue


def test_from_embeddings_normalises_and_freezes():
    cat = Catalogue.from_embeddings(np.array([[3.0, 4.0], [0.0, 2.0], [1.0, 0.0]]), topics=["b", "a", "b"])
    # rows divided by their norms 5, 2, 1
    np.testing.assert_allclose(cat.embeddings, [[0.6, 0.8], [0.0, 1.0], [1.0, 0.0]])
    assert cat.embeddings.dtype == np.float32 and not cat.embeddings.flags.writeable
    assert cat.num_items == len(cat) == 3 and cat.dim == 2
    np.testing.assert_allclose(cat.popularity, [1 / 3] * 3)
    assert cat.topic_names == ("a", "b")
    np.testing.assert_array_equal(cat.topic_index, [1, 0, 1])
    # centroid of topic b: normalise((0.6, 0.8) + (1, 0)) = (1.6, 0.8) / 1.7889 = (0.8944, 0.4472)
    np.testing.assert_allclose(cat.topic_centroids(), [[0.0, 1.0], [0.8944272, 0.4472136]], atol=1e-6)
    with pytest.raises(ValueError, match="read-only"):
        cat.embeddings[0, 0] = 0.0


def test_popularity_is_normalised():
    cat = Catalogue.from_embeddings(np.eye(3), topics=["a"] * 3, popularity=[2.0, 1.0, 1.0])
    np.testing.assert_allclose(cat.popularity, [0.5, 0.25, 0.25])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"embeddings": np.zeros((0, 4)), "topics": []}, "non-empty 2-D"),
        ({"embeddings": np.ones(4), "topics": ["a"]}, "non-empty 2-D"),
        ({"embeddings": np.array([[1.0, 0.0], [0.0, 0.0]]), "topics": ["a", "a"]}, "all-zero row"),
        ({"embeddings": np.array([[1.0, np.nan]]), "topics": ["a"]}, "finite"),
        ({"embeddings": np.eye(3), "topics": ["a", "b"]}, r"one label per item \(3\), got 2"),
        ({"embeddings": np.eye(2), "topics": ["a", "a"], "popularity": [1.0, -1.0]}, "non-negative"),
        ({"embeddings": np.eye(2), "topics": ["a", "a"], "popularity": [0.0, 0.0]}, "not all zero"),
        ({"embeddings": np.eye(2), "topics": ["a", "a"], "popularity": [1.0]}, r"popularity must have shape \(2,\)"),
        ({"embeddings": np.eye(2), "topics": ["a", "a"], "texts": ["same", "same"]}, "items 0 and 1"),
        ({"embeddings": np.eye(2), "topics": ["a", "a"], "texts": ["ok", " "]}, r"empty at index \[1\]"),
    ],
)
def test_from_embeddings_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Catalogue.from_embeddings(**kwargs)


def test_constructor_rejects_non_unit_embeddings_and_duplicate_ids():
    good = dict(texts=("a", "b"), topics=("t", "t"), popularity=np.ones(2), embeddings=np.eye(2))
    with pytest.raises(ValueError, match="unit L2 norm"):
        Catalogue(ids=np.arange(2), **{**good, "embeddings": 2 * np.eye(2)})
    with pytest.raises(ValueError, match="ids must be unique"):
        Catalogue(ids=np.array([7, 7]), **good)
    with pytest.raises(ValueError, match="at least one item"):
        Catalogue(ids=np.arange(0), texts=(), topics=(), popularity=np.ones(0), embeddings=np.zeros((0, 2)))


@pytest.mark.slow
def test_small_synthetic_catalogue(small_catalogue):
    cat = small_catalogue
    assert cat.num_items == 60 and cat.num_topics == 4 and cat.dim == 384
    assert len(set(cat.texts)) == 60 and all(len(t.split()) >= 8 for t in cat.texts)
    np.testing.assert_array_equal(cat.ids, np.arange(60))
    np.testing.assert_allclose(np.linalg.norm(cat.embeddings, axis=1), 1.0, atol=1e-5)
    assert cat.popularity.sum() == pytest.approx(1.0) and cat.popularity.min() > 0
    assert "all-MiniLM-L6-v2" in cat.encoder_identity
    assert np.bincount(cat.topic_index).min() >= 10  # every topic well represented
