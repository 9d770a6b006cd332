"""The nearest-neighbour heuristic as attacks see it: its torch view is its scores, and the suite moves it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from argmax_helpers import check_the_suite_moves_an_argmax_policy, own_rollout_observations

from agents.heuristics import TUNED, NearestNeighbour


@pytest.fixture(scope="module")
def played(tiny_catalogue):
    """(the tuned heuristic with a regret and skip weight, 64 observations of its own rollouts on AdvRec-v1)."""
    from advrec_gym.vector_env import AdvRecVectorEnv

    venv = AdvRecVectorEnv(8, catalogue=tiny_catalogue, horizon=20)
    heuristic = NearestNeighbour(tiny_catalogue, **TUNED["nearest-neighbour"], regret_weight=0.3, skip_weight=0.5)
    return heuristic, own_rollout_observations(heuristic, venv)


def test_the_torch_view_scores_are_the_heuristics_and_differentiable(played):
    heuristic, obs = played
    view = heuristic.gradient_policy
    np.testing.assert_allclose(view.scores(torch.as_tensor(obs)).numpy(), heuristic.scores(obs), rtol=0, atol=1e-5)
    # differentiable away from the fatigue's kink (<shown, e_i> = 0.5, which the env's rollouts do hit)
    from advrec_gym import kernel as K

    d = heuristic.dim
    shown = obs[:, K.SHOWN * d : (K.SHOWN + 1) * d] @ heuristic.embeddings.T
    smooth = obs[np.abs(shown - 0.5).min(axis=1) > 1e-3]
    assert len(smooth) >= 4
    x = torch.as_tensor(smooth[:4], dtype=torch.float64).requires_grad_(True)
    assert torch.autograd.gradcheck(view.scores, (x,), eps=1e-6, atol=1e-6)
    assert list(view.parameters()) == []
    # the distribution's mode, and the argmax of action_scores, is the item it shows
    shown = heuristic.predict(obs)[0]
    np.testing.assert_array_equal(view.get_distribution(torch.as_tensor(obs)).mode().numpy(), shown)
    np.testing.assert_array_equal(heuristic.action_scores(obs).argmax(axis=1), shown)
    np.testing.assert_array_equal(heuristic.predict(obs, deterministic=False)[0], shown)  # greedy in both modes


def test_white_box_and_query_attacks_apply_and_move_its_choice(played):
    check_the_suite_moves_an_argmax_policy(*played)
