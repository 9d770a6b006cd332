"""Rendering of an AdvRec-v1 episode: a line of text per step, or a picture of the episode so far.

Only envs made with a ``render_mode`` keep this log, so rendering costs nothing otherwise. The
picture is drawn with numpy alone (no plotting library): the user's remaining budget as a line over
the episode, and one bar per step below it (green: a click on a good item, its height the item's
quality; red: a click on a low-quality item; grey: no click).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from advrec_gym import kernel as K

RENDER_MODES = ("ansi", "rgb_array")
_HEIGHT, _STEP_PX, _MIN_WIDTH = 160, 4, 400
_BG, _AXIS = (250, 250, 250), (200, 200, 200)
_BUDGET, _GOOD, _BAD, _SKIP = (40, 90, 200), (40, 160, 70), (210, 50, 40), (190, 190, 190)


class EpisodeLog:
    """What happened in the current episode of a single env, for ``render()``."""

    def __init__(self, engine: Any):
        self.engine = engine
        self.start()

    def start(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self.start_budget = float(self.engine.budget[0])

    def record(self, slate: np.ndarray, info: dict[str, Any], reward: float) -> None:
        cat = self.engine.catalogue
        shown = int(slate[0])
        clicked = info["clicked_item"]
        item = clicked if clicked >= 0 else shown
        self.steps.append(
            {
                "t": int(self.engine.t[0]),
                "budget": float(self.engine.budget[0]),
                "item": item,
                "click": bool(info["click"]),
                "reward": reward,
                "quality": float(cat.quality[item]),
                "kind": cat.kinds[item] if cat.kinds is not None else "",
                "satisfaction": info["satisfaction"],
                "text": cat.texts[item],
                "satisfaction_ema": float(self.engine.obs[0, K.NUM_BLOCKS * self.engine.dim + 4]),
            }
        )

    def ansi(self) -> str:
        """The last step as one line (the state right after reset when no step was taken)."""
        if not self.steps:
            return f"t=0 budget={self.start_budget:5.1f} (new user)"
        s = self.steps[-1]
        outcome = f"click, outcome {s['satisfaction']:+.2f}" if s["click"] else "no click"
        kind = f", {s['kind']}" if s["kind"] else ""
        text = s["text"] if len(s["text"]) <= 70 else s["text"][:67] + "..."
        return (
            f"t={s['t']:3d} budget={s['budget']:5.1f} mood={s['satisfaction_ema']:+.2f} | "
            f"item {s['item']} (quality {s['quality']:+.2f}{kind}): {text} | {outcome}"
        )

    def rgb_array(self) -> np.ndarray:
        """uint8 (160, width, 3): the budget over the episode and one bar per step."""
        horizon = self.engine.horizon or max(len(self.steps), 1)
        width = max(_MIN_WIDTH, _STEP_PX * horizon + 20)
        img = np.empty((_HEIGHT, width, 3), dtype=np.uint8)
        img[:] = _BG
        top, mid, bottom, left = 8, _HEIGHT // 2, _HEIGHT - 8, 10
        img[mid, left : width - 10] = _AXIS
        img[top:bottom, left] = _AXIS
        budgets = [self.start_budget] + [s["budget"] for s in self.steps]
        scale = max(max(budgets), 1e-9)
        prev = None
        for t, b in enumerate(budgets):
            x = left + t * _STEP_PX
            y = mid - 2 - int(round((mid - 2 - top) * max(b, 0.0) / scale))
            if prev is not None:  # a vertical segment joins the previous point: a continuous line
                lo, hi = sorted((prev[1], y))
                img[lo : hi + 1, prev[0] : x + 1] = _BUDGET
            img[y, x : x + _STEP_PX] = _BUDGET
            prev = (x, y)
        for s in self.steps:
            x = left + (s["t"] - 1) * _STEP_PX + 1
            if s["click"]:
                colour = _GOOD if s["quality"] >= 0 else _BAD
                h = 4 + int(round((bottom - mid - 6) * abs(s["quality"])))
            else:
                colour, h = _SKIP, 3
            img[mid + 2 : mid + 2 + h, x : x + _STEP_PX - 1] = colour
        return img
