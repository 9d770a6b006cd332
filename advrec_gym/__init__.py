"""AdvRec: a Gymnasium testbed for recommender systems under adversarial observation attacks.

Importing this package registers ``AdvRec-v0``::

    import gymnasium as gym
    import advrec_gym

    env = gym.make("AdvRec-v0")
    venv = gym.make_vec("AdvRec-v0", num_envs=64, vectorization_mode="vector_entry_point")
"""

from gymnasium.envs.registration import register, registry

from advrec_gym.cache import EmbeddingCache, default_cache_dir
from advrec_gym.catalogue import Catalogue
from advrec_gym.choice import LogitChoice
from advrec_gym.encoder import TransformerEncoder
from advrec_gym.users import UserModel

__version__ = "0.1.0"

ENV_IDS = ("AdvRec-v0",)

if "AdvRec-v0" not in registry:
    register(
        id="AdvRec-v0",
        entry_point="advrec_gym.v0.env:AdvRecEnv",
        vector_entry_point="advrec_gym.v0.vector_env:AdvRecVectorEnv",
        max_episode_steps=100,
    )

__all__ = [
    "ENV_IDS",
    "Catalogue",
    "EmbeddingCache",
    "LogitChoice",
    "TransformerEncoder",
    "UserModel",
    "default_cache_dir",
]
