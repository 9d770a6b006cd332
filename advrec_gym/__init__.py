"""AdvRec: a Gymnasium testbed for recommender systems under adversarial attack.

Importing this package registers ``AdvRec-v1`` (the default: hidden item quality, a compiled kernel)
``AdvRec-v0`` (frozen, the record of the v0 results) and ``AdvRec-MovieLens-v1`` (AdvRec-v1 over an
ml-100k folder, its users calibrated to the ratings: ``gym.make("AdvRec-MovieLens-v1", path=...)``)::

    import gymnasium as gym
    import advrec_gym

    env = gym.make("AdvRec-v1")
    venv = gym.make_vec("AdvRec-v1", num_envs=64, vectorization_mode="vector_entry_point")
"""

from gymnasium.envs.registration import register, registry

from advrec_gym.cache import EmbeddingCache, default_cache_dir
from advrec_gym.catalogue import Catalogue
from advrec_gym.choice import LogitChoice
from advrec_gym.dynamics import Dynamics
from advrec_gym.encoder import TransformerEncoder
from advrec_gym.env import AdvRecEnv
from advrec_gym.quality import ItemKinds
from advrec_gym.users import UserModel, UserPopulation
from advrec_gym.vector_env import AdvRecVectorEnv

__version__ = "0.2.0"

#: the default env id (demo, training, the board)
DEFAULT_ENV_ID = "AdvRec-v1"
ENV_IDS = ("AdvRec-v1", "AdvRec-v0")

if "AdvRec-v0" not in registry:
    register(
        id="AdvRec-v0",
        entry_point="advrec_gym.v0.env:AdvRecEnv",
        vector_entry_point="advrec_gym.v0.vector_env:AdvRecVectorEnv",
        max_episode_steps=100,
    )
if "AdvRec-v1" not in registry:
    # No TimeLimit: the env truncates at its own ``horizon`` (100), which its observation's time
    # fraction counts toward; the vector env does the same inside the kernel.
    register(
        id="AdvRec-v1",
        entry_point="advrec_gym.env:AdvRecEnv",
        vector_entry_point="advrec_gym.vector_env:AdvRecVectorEnv",
    )

if "AdvRec-MovieLens-v1" not in registry:
    # AdvRec-v1 over a MovieLens folder (path=...), its users fitted to the ratings (advrec_gym.movielens_env).
    register(
        id="AdvRec-MovieLens-v1",
        entry_point="advrec_gym.movielens_env:make_env",
        vector_entry_point="advrec_gym.movielens_env:make_vector_env",
    )

__all__ = [
    "DEFAULT_ENV_ID",
    "ENV_IDS",
    "AdvRecEnv",
    "AdvRecVectorEnv",
    "Catalogue",
    "Dynamics",
    "EmbeddingCache",
    "ItemKinds",
    "LogitChoice",
    "TransformerEncoder",
    "UserModel",
    "UserPopulation",
    "default_cache_dir",
]
