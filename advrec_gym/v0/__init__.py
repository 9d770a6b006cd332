"""AdvRec-v0, frozen: the record behind the committed v0 results.

v0's numpy engine, single env and vector env are kept exactly as they were when the v0 board, game and
supervised results were computed, so those results stay reproducible (same seed, same trajectory). New
work uses AdvRec-v1 (:mod:`advrec_gym`), whose step is a compiled kernel and whose users react to the
hidden quality of what they consume. Nothing here changes except to keep it importable.

``gym.make("AdvRec-v0")`` still builds these classes.
"""

from advrec_gym.v0.engine import Engine, HistoryRates
from advrec_gym.v0.env import AdvRecEnv
from advrec_gym.v0.vector_env import AdvRecVectorEnv

__all__ = ["AdvRecEnv", "AdvRecVectorEnv", "Engine", "HistoryRates"]
