"""Hidden item quality: the kinds of items in a synthetic AdvRec-v1 catalogue.

Every item has a hidden **quality** ``q`` in [-1, 1] (what consuming it does to the user: in AdvRec-v1
a click changes the user's remaining time by ``quality_gain * q``) and a click **appeal** ``a`` added
to the user's affinity when they decide whether to click. The two disagree for clickbait, the case
information filtering exists for (spam, clickbait, low-quality content):

| kind | share | quality | appeal | text (what a reader, and the language model, can see) |
|---|---|---|---|---|
| clickbait | 15% | -1 to -0.5 | +0.10 to +0.20 | sensational title, "you won't believe", viral tags |
| quality | 20% | +0.5 to +1 | -0.05 to 0 | "award-winning, meticulously researched", in-depth tags |
| regular | the rest | -0.3 to +0.5 | -0.02 to +0.02 | the plain v0-style text |

So a myopic recommender that chases clicks shows clickbait and loses its users early, while the text
gives away, to whoever learns to read it, which items are which.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from advrec_gym._validation import check_float
from advrec_gym.users import check_range

KINDS = ("clickbait", "quality", "regular")


@dataclass(frozen=True)
class ItemKinds:
    """Shares of the item kinds and the ranges their quality and appeal are drawn from (uniformly).

    Args:
        clickbait_share: share of clickbait items, in [0, 1].
        quality_share: share of high-quality items, in [0, 1] (the two shares sum to at most 1).
        clickbait_quality, quality_quality, regular_quality: (low, high) within [-1, 1].
        clickbait_appeal, quality_appeal, regular_appeal: (low, high) of the click appeal, in
            affinity units (an affinity ``<u, e>`` of a user for an item of their topic is about 0.5).
    """

    clickbait_share: float = 0.15
    quality_share: float = 0.2
    clickbait_quality: tuple[float, float] = (-1.0, -0.5)
    quality_quality: tuple[float, float] = (0.5, 1.0)
    regular_quality: tuple[float, float] = (-0.3, 0.5)
    clickbait_appeal: tuple[float, float] = (0.10, 0.20)
    quality_appeal: tuple[float, float] = (-0.05, 0.0)
    regular_appeal: tuple[float, float] = (-0.02, 0.02)

    def __post_init__(self):
        check_float("clickbait_share", self.clickbait_share, low=0.0, high=1.0)
        check_float("quality_share", self.quality_share, low=0.0, high=1.0)
        if self.clickbait_share + self.quality_share > 1.0:
            raise ValueError(
                f"clickbait_share + quality_share must be at most 1, got {self.clickbait_share} + {self.quality_share}."
            )
        for kind in KINDS:
            check_range(f"{kind}_quality", getattr(self, f"{kind}_quality"), low=-1.0, high=1.0)
            check_range(f"{kind}_appeal", getattr(self, f"{kind}_appeal"), low=-1.0, high=1.0)

    def draw(self, num_items: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(kinds, quality, appeal) of ``num_items`` items, the kinds in exact shares, shuffled by ``rng``."""
        n_bait = int(round(self.clickbait_share * num_items))
        n_good = min(int(round(self.quality_share * num_items)), num_items - n_bait)
        labels = np.array(["clickbait"] * n_bait + ["quality"] * n_good + ["regular"] * (num_items - n_bait - n_good))
        labels = labels[rng.permutation(num_items)]
        quality = np.empty(num_items, dtype=np.float32)
        appeal = np.empty(num_items, dtype=np.float32)
        for kind in KINDS:
            members = np.flatnonzero(labels == kind)
            quality[members] = rng.uniform(*getattr(self, f"{kind}_quality"), size=members.size)
            appeal[members] = rng.uniform(*getattr(self, f"{kind}_appeal"), size=members.size)
        return [str(k) for k in labels], quality, appeal
