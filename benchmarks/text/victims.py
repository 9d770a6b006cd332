"""The text track's victims: PPO item-embedding recommenders on AdvRec-v1, trained once per seed and cached.

CleanRL-style: one function, every setting explicit. A trained model is saved to
``work_dir/victims/ppo-seed{seed}-{steps}.zip`` (SB3's zip) and reused by later runs: the model
is rebuilt from the settings here and only its weights are read back (``check_weights`` and
``set_parameters``, ``torch.load(weights_only=True)``), so nothing in the file is unpickled.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from stable_baselines3 import PPO

from advrec_gym import AdvRecVectorEnv, Catalogue
from advrec_gym.sb3_adapter import SB3VecEnvAdapter
from agents.policies import policy_class_and_kwargs
from agents.training.checkpoint import check_weights
from agents.training.players import silent_logger

PPO_SETTINGS = {
    "n_steps": 256,
    "batch_size": 1024,
    "n_epochs": 4,
    "learning_rate": 1e-3,
    "gamma": 0.99,
    "ent_coef": 0.0,
}
NUM_ENVS = 16


def victim_path(work_dir: Path, seed: int, steps: int) -> Path:
    return Path(work_dir) / "victims" / f"ppo-seed{seed}-{steps}.zip"


def train_victim(catalogue: Catalogue, seed: int, steps: int, work_dir: Path, log=print) -> PPO:
    """The PPO item-embedding recommender of ``seed`` (trained, or loaded when cached)."""
    path = victim_path(work_dir, seed, steps)
    venv = SB3VecEnvAdapter(AdvRecVectorEnv(NUM_ENVS, catalogue))
    policy, kwargs = policy_class_and_kwargs("item_embedding", catalogue.embeddings)
    model = PPO(policy, venv, policy_kwargs=kwargs, seed=seed, device="cpu", verbose=0, **PPO_SETTINGS)
    model.set_logger(silent_logger())
    if path.exists():
        check_weights(model, path, f"the text track's victim (seed {seed})")
        model.set_parameters(str(path), device="cpu")
        return model
    start = time.perf_counter()
    model.learn(steps)
    log(f"  trained victim seed {seed}: {steps} steps in {time.perf_counter() - start:.0f} s")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.zip")
    model.save(tmp)
    tmp.replace(path)
    return model


if __name__ == "__main__":  # train the victims in the background: python -m benchmarks.text.victims SEEDS STEPS DIR
    import sys

    torch.set_num_threads(1)
    from advrec_gym.options import default_catalogue
    from advrec_gym.quality import ItemKinds

    seeds, steps, work = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    cat = default_catalogue(1000, 20, 0, ItemKinds(), None, None)
    for s in (int(x) for x in seeds.split(",")):
        train_victim(cat, s, steps, work, log=lambda m: print(m, flush=True))
