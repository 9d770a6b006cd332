"""Choice model: which shown item (if any) a user clicks.

A multinomial logit over the slate plus a no-click option (RecSim's ``MultinomialLogitChoiceModel``
with a no-click score, Louviere et al. 2000), with fatigue for near-repeats and a position bias.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from advrec_gym._validation import check_float


@dataclass(frozen=True)
class LogitChoice:
    """Multinomial logit with a no-click option.

    For a user with interest ``u`` and recently-shown vector ``r`` (the exponential average of the
    embeddings shown to them, which the recommender observes), an item ``e_j`` at slate position ``j``
    (0-based) scores::

        fatigue_j = phi * max(0, <e_j, r> - fatigue_threshold) / (1 - fatigue_threshold)
        v_j       = (<u, e_j> - fatigue_j) / temperature + j * log(position_bias)
        v_none    = no_click_affinity / temperature
        P(click j) = exp(v_j) / (exp(v_none) + sum_k exp(v_k))

    With one item this is ``sigmoid((<u, e> - fatigue - no_click_affinity) / temperature)``.

    Args:
        temperature: softness of the choice (> 0); smaller is more decisive.
        no_click_affinity: the affinity at which clicking and not clicking are equally likely.
        fatigue_threshold: similarity to the recently-shown vector below which there is no fatigue.
        position_bias: attention factor per slate position, in (0, 1].
    """

    temperature: float = 0.1
    no_click_affinity: float = 0.5
    fatigue_threshold: float = 0.5
    position_bias: float = 0.8

    def __post_init__(self):
        check_float("temperature", self.temperature, low=0.0, low_open=True)
        check_float("no_click_affinity", self.no_click_affinity, low=-1.0, high=1.0)
        check_float("fatigue_threshold", self.fatigue_threshold, low=0.0, high=1.0, high_open=True)
        check_float("position_bias", self.position_bias, low=0.0, high=1.0, low_open=True)

    def fatigue(self, similarity: np.ndarray, sensitivity: np.ndarray) -> np.ndarray:
        """Fatigue penalty from ``<e, r>`` (any shape) and the per-user sensitivity (broadcastable)."""
        excess = np.maximum(similarity - self.fatigue_threshold, 0.0) / (1.0 - self.fatigue_threshold)
        return sensitivity * excess

    def probabilities(self, affinity: np.ndarray, fatigue: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
        """Choice probabilities, shape (batch, 1 + slate): column 0 is no click, column 1 + j is slot j.

        Args:
            affinity: ``<u, e_j>``, shape (batch, slate).
            fatigue: the penalty, shape (batch, slate).
            valid: mask of the slots that can be chosen (duplicates are not); ``None`` is all.
        """
        slate = affinity.shape[1]
        v = (affinity - fatigue - self.no_click_affinity) / self.temperature
        v = v + np.arange(slate) * np.log(self.position_bias)
        if valid is not None:
            v = np.where(valid, v, -np.inf)
        top = np.maximum(v.max(axis=1, keepdims=True), 0.0)  # the no-click score is 0 after shifting
        w = np.exp(v - top)
        w0 = np.exp(-top)
        total = w0 + w.sum(axis=1, keepdims=True)
        return np.concatenate([w0, w], axis=1) / total

    @staticmethod
    def choose(probabilities: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
        """Inverse-CDF draw: the chosen column (0 = no click) for each row, given U(0,1) draws."""
        cdf = np.cumsum(probabilities, axis=1)
        choice = (cdf < uniforms[:, None]).sum(axis=1)
        return np.minimum(choice, probabilities.shape[1] - 1)
