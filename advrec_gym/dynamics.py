"""What a step of AdvRec-v1 does to a user beyond the click: the consequences of what they consumed."""

from __future__ import annotations

from dataclasses import dataclass

from advrec_gym._validation import check_choice, check_float

REWARDS = ("click", "engagement")


@dataclass(frozen=True)
class Dynamics:
    """AdvRec-v1's consequences and the observation's update rates.

    A click on item ``i`` pays its reward now; consuming it then shows the user what it was worth: an
    outcome ``s = clip(quality_i + satisfaction_noise * N(0, 1), -1, 1)`` that the recommender observes
    (dwell time, a like, a complaint), and a change of ``quality_gain * quality_i`` in the user's
    remaining time budget (good items make them stay, clickbait makes them leave). Every step costs
    one unit of budget, and ``skip_cost`` more when nothing was clicked.

    Args:
        quality_gain: budget change per unit of hidden quality on a click (>= 0; 0 is AdvRec-v0's world).
        skip_cost: extra budget a step without a click costs (>= 0).
        satisfaction_noise: standard deviation of the observed outcome around the hidden quality (>= 0).
        reward: ``"click"`` (1 per click) or ``"engagement"`` (the clicked item's affinity, clipped to [0, 1]).
        liked_rate, regretted_rate, skipped_rate, shown_rate: update rates in (0, 1] of the
            observation's four embedding averages.
        click_rate, satisfaction_rate: update rates in (0, 1] of the click-rate and outcome averages.
    """

    quality_gain: float = 3.0
    skip_cost: float = 1.0
    satisfaction_noise: float = 0.2
    reward: str = "click"
    liked_rate: float = 0.3
    regretted_rate: float = 0.3
    skipped_rate: float = 0.3
    shown_rate: float = 0.5
    click_rate: float = 0.3
    satisfaction_rate: float = 0.3

    def __post_init__(self):
        check_float("quality_gain", self.quality_gain, low=0.0)
        check_float("skip_cost", self.skip_cost, low=0.0)
        check_float("satisfaction_noise", self.satisfaction_noise, low=0.0)
        check_choice("reward", self.reward, REWARDS)
        for name in ("liked", "regretted", "skipped", "shown", "click", "satisfaction"):
            check_float(f"{name}_rate", getattr(self, f"{name}_rate"), low=0.0, high=1.0, low_open=True)
