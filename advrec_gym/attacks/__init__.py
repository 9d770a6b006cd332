"""Observation attacks: budgets, attackers, the attacker's own MDP, and attack metrics.

The threat model: the recommender's observation ``o`` becomes ``o + d`` with ``||d||_p <= eps``
(p = inf or 2) on the embedding slice of the observation; the simulated user never sees the attack.
Apply an attacker to an env with :class:`advrec_gym.wrappers.AdversarialObservation`. The evaluation
suite (:data:`SUITE`, docs/attacks.md) aims at the worst case: APGD on objectives that match what a
sampled recommender is scored by, critic and MAD attacks, a query-only attack for every entry with
action scores, and learned adversaries (the ATLA-style one and PA-AD).
"""

from advrec_gym.attacks.apgd import APGD, MAD
from advrec_gym.attacks.attacker_env import AttackerEnv, AttackerVectorEnv
from advrec_gym.attacks.base import Attacker
from advrec_gym.attacks.budget import NORMS, Budget
from advrec_gym.attacks.factory import ATTACKERS, SPECS, SUITE, AttackSpec, applicable_attacks, make_attacker
from advrec_gym.attacks.gradient import FGSM, OBJECTIVES, PGD, CriticPGD, GradientAttack
from advrec_gym.attacks.learned import LearnedAdversary
from advrec_gym.attacks.metrics import action_changed, attack_success_rate, evaluate_attack
from advrec_gym.attacks.objectives import Objective
from advrec_gym.attacks.pa_ad import PAAD
from advrec_gym.attacks.query import QueryAttack
from advrec_gym.attacks.random_noise import RandomNoise
from advrec_gym.attacks.victim import ScoredPolicy, attack_surface

__all__ = [
    "APGD",
    "ATTACKERS",
    "FGSM",
    "MAD",
    "NORMS",
    "OBJECTIVES",
    "PAAD",
    "PGD",
    "SPECS",
    "SUITE",
    "AttackSpec",
    "Attacker",
    "AttackerEnv",
    "AttackerVectorEnv",
    "Budget",
    "CriticPGD",
    "GradientAttack",
    "LearnedAdversary",
    "Objective",
    "QueryAttack",
    "RandomNoise",
    "ScoredPolicy",
    "action_changed",
    "applicable_attacks",
    "attack_success_rate",
    "attack_surface",
    "evaluate_attack",
    "make_attacker",
]
