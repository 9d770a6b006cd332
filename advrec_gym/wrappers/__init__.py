"""Wrappers around AdvRec envs (single and vector): attacks live here, never inside the env."""

from advrec_gym.wrappers.adversarial_observation import AdversarialObservation, VectorAdversarialObservation

__all__ = ["AdversarialObservation", "VectorAdversarialObservation"]
