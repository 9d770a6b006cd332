"""Defences of the recommender against observation attacks, selected by name (see :mod:`.registry`)."""

from agents.defences.clean_observation import CleanObservationCopy, doubled_space
from agents.defences.registry import DEFENCES, GAME_DEFENCES, attacked_env, training_attacker
from agents.defences.smoothing import SmoothedPolicy, SmoothedRecommender, smoothed
from agents.defences.smoothness import SAPPO

__all__ = [
    "DEFENCES",
    "GAME_DEFENCES",
    "SAPPO",
    "SmoothedPolicy",
    "SmoothedRecommender",
    "CleanObservationCopy",
    "attacked_env",
    "doubled_space",
    "smoothed",
    "training_attacker",
]
