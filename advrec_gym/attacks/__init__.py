"""Observation attacks: budgets, attackers and the attacker's own MDP."""

from advrec_gym.attacks.budget import NORMS, Budget

__all__ = ["NORMS", "Budget"]
