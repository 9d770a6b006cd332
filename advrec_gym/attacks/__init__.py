"""Observation attacks: budgets, attackers, the attacker's own MDP, and attack metrics.

The threat model: the recommender's observation ``o`` becomes ``o + d`` with ``||d||_p <= eps``
(p = inf or 2) on the embedding slice of the observation; the simulated user never sees the attack.
Apply an attacker to an env with :class:`advrec_gym.wrappers.AdversarialObservation`.
"""

from advrec_gym.attacks.attacker_env import AttackerEnv, AttackerVectorEnv
from advrec_gym.attacks.base import Attacker
from advrec_gym.attacks.budget import NORMS, Budget
from advrec_gym.attacks.factory import ATTACKERS, make_attacker
from advrec_gym.attacks.gradient import FGSM, OBJECTIVES, PGD, CriticPGD, GradientAttack
from advrec_gym.attacks.learned import LearnedAdversary
from advrec_gym.attacks.metrics import action_changed, attack_success_rate, evaluate_attack
from advrec_gym.attacks.random_noise import RandomNoise

__all__ = [
    "ATTACKERS",
    "FGSM",
    "NORMS",
    "OBJECTIVES",
    "PGD",
    "Attacker",
    "AttackerEnv",
    "AttackerVectorEnv",
    "Budget",
    "CriticPGD",
    "GradientAttack",
    "LearnedAdversary",
    "RandomNoise",
    "action_changed",
    "attack_success_rate",
    "evaluate_attack",
    "make_attacker",
]
