"""Hand-computed choice probabilities: LogitChoice on its own, then through the engine.

The formulas (advrec_gym/choice.py, and the env's docstring)::

    fatigue_j = phi * max(0, <e_j, r> - theta) / (1 - theta)
    v_j       = (<u, e_j> - fatigue_j - a0) / tau + j * log(b)      (no-click score 0)
    P(none)   = 1 / (1 + sum_k exp(v_k)),   P(slot j) = exp(v_j) / (1 + sum_k exp(v_k))
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest

from advrec_gym import Catalogue, LogitChoice
from advrec_gym.v0 import AdvRecEnv

# ---------------------------------------------------------------------------- LogitChoice alone
# tau = 1, a0 = 0: v_j = affinity_j - fatigue_j + j * log(b); affinities are logs so exp(v) is simple.
SIMPLE = LogitChoice(temperature=1.0, no_click_affinity=0.0, fatigue_threshold=0.5, position_bias=0.5)
LN2, LN4 = math.log(2.0), math.log(4.0)


def test_single_item_is_a_sigmoid():
    # v = ln 4 -> P(click) = 4 / (1 + 4) = 0.8
    p = SIMPLE.probabilities(np.array([[LN4]]), np.zeros((1, 1)))
    np.testing.assert_allclose(p, [[0.2, 0.8]], rtol=1e-12)


def test_slate_with_position_bias():
    # affinities [ln 4, ln 4], b = 0.5: v = [ln 4, ln 4 + ln 0.5 = ln 2]
    # weights: none 1, slot0 4, slot1 2 -> P = [1/7, 4/7, 2/7]
    p = SIMPLE.probabilities(np.array([[LN4, LN4]]), np.zeros((1, 2)))
    np.testing.assert_allclose(p, [[1 / 7, 4 / 7, 2 / 7]], rtol=1e-12)
    # affinities [ln 4, ln 2]: v = [ln 4, 0] -> weights 1, 4, 1 -> P = [1/6, 4/6, 1/6]
    p = SIMPLE.probabilities(np.array([[LN4, LN2]]), np.zeros((1, 2)))
    np.testing.assert_allclose(p, [[1 / 6, 4 / 6, 1 / 6]], rtol=1e-12)


def test_fatigue_formula():
    # theta = 0.5: similarity 0.75 -> 0.25 / 0.5 = 0.5, times phi = 2 -> 1.0; similarity 0.4 -> 0
    f = SIMPLE.fatigue(np.array([[0.75, 0.4, 1.0]]), np.array([[2.0]]))
    np.testing.assert_allclose(f, [[1.0, 0.0, 2.0]], rtol=1e-12)
    # fatigue ln 2 turns affinity ln 4 into v = ln 2: P = [1/3, 2/3]
    p = SIMPLE.probabilities(np.array([[LN4]]), np.array([[LN2]]))
    np.testing.assert_allclose(p, [[1 / 3, 2 / 3]], rtol=1e-12)


def test_duplicate_slot_gets_zero_probability():
    # slate [x, x] with valid = [True, False]: only slot 0 counts, weights 1, 4, 0 -> [1/5, 4/5, 0]
    p = SIMPLE.probabilities(np.array([[LN4, LN4]]), np.zeros((1, 2)), np.array([[True, False]]))
    np.testing.assert_allclose(p, [[0.2, 0.8, 0.0]], rtol=1e-12)


def test_probabilities_are_stable_for_extreme_scores():
    cm = LogitChoice(temperature=1e-3)
    p = cm.probabilities(np.array([[1.0, -1.0], [-1.0, -1.0]]), np.zeros((2, 2)))
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p[0], [0.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(p[1], [1.0, 0.0, 0.0], atol=1e-12)


def test_choose_is_inverse_cdf():
    # P = [1/6, 4/6, 1/6] -> cdf [0.1667, 0.8333, 1]
    probs = np.tile([[1 / 6, 4 / 6, 1 / 6]], (7, 1))
    u = np.array([0.0, 0.16, 0.17, 0.83, 0.84, 0.999, 1.0])
    np.testing.assert_array_equal(LogitChoice.choose(probs, u), [0, 0, 1, 1, 2, 2, 2])


def test_choice_frequencies_match_probabilities():
    probs = np.tile([[1 / 6, 4 / 6, 1 / 6]], (60_000, 1))
    u = np.random.default_rng(0).random(60_000)
    freq = np.bincount(LogitChoice.choose(probs, u), minlength=3) / 60_000
    np.testing.assert_allclose(freq, [1 / 6, 4 / 6, 1 / 6], atol=0.01)


# ---------------------------------------------------------------------------- through the engine
# Three 2-d items: e0 = (1, 0), e1 = (0.8, 0.6), e2 = (0.6, 0.8). The user's interest is u = (1, 0),
# so the affinities are 1.0, 0.8, 0.6. Choice model: the defaults tau = 0.1, a0 = 0.5, theta = 0.5,
# with position bias b = 0.5.
TRIANGLE = np.array([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8]])


@dataclass(frozen=True)
class RecordingChoice(LogitChoice):
    """LogitChoice that keeps every probability table the engine asks it for."""

    log: list = field(default_factory=list, compare=False, repr=False)

    def probabilities(self, affinity, fatigue, valid=None):
        p = super().probabilities(affinity, fatigue, valid)
        self.log.append(p.copy())
        return p


def _triangle_env(slate_size: int = 1, fatigue: float = 1.0) -> AdvRecEnv:
    catalogue = Catalogue.from_embeddings(TRIANGLE, topics=["a", "a", "b"])
    env = AdvRecEnv(catalogue=catalogue, choice_model=RecordingChoice(position_bias=0.5), slate_size=slate_size)
    env.reset(seed=0)
    eng = env.engine
    eng.interest[0] = (1.0, 0.0)
    eng.fatigue[0] = fatigue
    eng.budget[0] = 50.0
    return env


def test_engine_single_item_probability():
    # e1: v = (0.8 - 0.5) / 0.1 = 3 -> P(click) = 1 / (1 + e^-3) = 0.9525741
    env = _triangle_env()
    env.step(1)
    np.testing.assert_allclose(env.engine.choice_model.log[-1], [[0.0474259, 0.9525741]], atol=1e-6)


def test_engine_slate_probabilities_with_position_bias():
    # slate [e0, e2]: v0 = (1.0 - 0.5) / 0.1 = 5, v1 = (0.6 - 0.5) / 0.1 + ln 0.5 = 1 - 0.6931
    # weights 1, e^5 = 148.41316, e / 2 = 1.35914; total 150.77230
    # P = [0.0066325, 0.9843530, 0.0090145]
    env = _triangle_env(slate_size=2)
    env.step(np.array([0, 2]))
    np.testing.assert_allclose(env.engine.choice_model.log[-1], [[0.0066325, 0.9843530, 0.0090145]], atol=1e-6)


def test_engine_fatigue_from_the_shown_average():
    # r = (1, 0) (as if e0 had just been shown with rate 1), phi = 1:
    # e1: <e1, r> = 0.8 -> fatigue (0.8 - 0.5) / 0.5 = 0.6 -> v = (0.8 - 0.6 - 0.5) / 0.1 = -3
    # P(click) = 1 / (1 + e^3) = 0.0474259 (it was 0.9525741 without fatigue)
    env = _triangle_env(fatigue=1.0)
    env.engine.shown_ema[0] = (1.0, 0.0)
    env.step(1)
    np.testing.assert_allclose(env.engine.choice_model.log[-1], [[0.9525741, 0.0474259]], atol=1e-6)
    # With phi = 0.5 the penalty halves: v = (0.8 - 0.3 - 0.5) / 0.1 = 0 -> P(click) = 0.5
    env = _triangle_env(fatigue=0.5)
    env.engine.shown_ema[0] = (1.0, 0.0)
    env.step(1)
    np.testing.assert_allclose(env.engine.choice_model.log[-1], [[0.5, 0.5]], atol=1e-6)


def test_engine_duplicate_in_slate_is_shown_once():
    # slate [e1, e1, e2]: v = [3, (dup: -inf), (0.6 - 0.5) / 0.1 + 2 ln 0.5 = 1 - 1.3863]
    # weights 1, e^3 = 20.08554, 0, e / 4 = 0.67957; total 21.76511
    # P = [0.0459451, 0.9228320, 0, 0.0312229]
    env = _triangle_env(slate_size=3)
    env.step(np.array([1, 1, 2]))
    np.testing.assert_allclose(env.engine.choice_model.log[-1], [[0.0459451, 0.9228320, 0.0, 0.0312229]], atol=1e-6)


@pytest.mark.parametrize(("uniform", "clicked_item"), [(0.0474, -1), (0.0476, 1)])
def test_engine_draw_uses_the_slot_uniform(uniform, clicked_item):
    # P(no click) for e1 is 0.0474259: a uniform just below it is no click, just above it a click.
    env = _triangle_env()
    eng = env.engine
    eng.uniforms[0, eng.t[0]] = uniform
    _, reward, _, _, info = env.step(1)
    assert info["clicked_item"] == clicked_item
    assert reward == (1.0 if clicked_item >= 0 else 0.0)


@pytest.mark.parametrize(("uniform", "clicked_item"), [(0.0066, -1), (0.0067, 0), (0.9909, 0), (0.9911, 2)])
def test_engine_slate_draw_maps_slot_to_item(uniform, clicked_item):
    # cdf of [0.0066325, 0.9843530, 0.0090145] over [none, e0, e2]: 0.0066325, 0.9909855, 1
    env = _triangle_env(slate_size=2)
    eng = env.engine
    eng.uniforms[0, eng.t[0]] = uniform
    _, _, _, _, info = env.step(np.array([0, 2]))
    assert info["clicked_item"] == clicked_item


def test_oracle_probabilities_match_the_choice_model():
    # Each item shown alone: v = (<u, e> - fatigue - 0.5) / 0.1.
    # No history (r = 0): v = 5, 3, 1 -> sigmoid = 0.9933071, 0.9525741, 0.7310586
    env = _triangle_env()
    np.testing.assert_allclose(env.engine.click_probabilities(), [[0.9933071, 0.9525741, 0.7310586]], atol=1e-6)
    # r = (1, 0), phi = 1: similarities 1, 0.8, 0.6 -> fatigue 1, 0.6, 0.2 -> v = -5, -3, -1
    # sigmoid = 0.0066929, 0.0474259, 0.2689414
    env.engine.shown_ema[0] = (1.0, 0.0)
    np.testing.assert_allclose(env.engine.click_probabilities(), [[0.0066929, 0.0474259, 0.2689414]], atol=1e-6)
