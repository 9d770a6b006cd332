"""Fixtures for AdvRec-v1: tiny catalogues with hidden quality and appeal (no language model)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from advrec_gym import Catalogue


def with_quality(catalogue: Catalogue, seed: int = 0) -> Catalogue:
    """``catalogue`` with quality in [-1, 1] and appeal in [-0.1, 0.2] drawn from ``seed``."""
    rng = np.random.default_rng([seed, 7])
    n = catalogue.num_items
    return replace(catalogue, quality=rng.uniform(-1, 1, n), appeal=rng.uniform(-0.1, 0.2, n))


@pytest.fixture(scope="session")
def make_v1_catalogue(make_tiny_catalogue):
    """Factory: a tiny clustered catalogue (see ``make_tiny_catalogue``) with quality and appeal."""

    def make(num_items: int = 30, dim: int = 16, num_topics: int = 5, seed: int = 1) -> Catalogue:
        return with_quality(make_tiny_catalogue(num_items, dim, num_topics, seed), seed)

    return make


@pytest.fixture(scope="session")
def v1_catalogue(make_v1_catalogue) -> Catalogue:
    """30 items, 16-d, 5 topics, with quality and appeal."""
    return make_v1_catalogue()
