"""Recommender training speed of the two-player game on CPU and on a GPU, on AdvRec-v1.

    bash benchmarks/gpu_check.sh            # on a machine with a CUDA GPU (sets up, then runs this)
    python benchmarks/gpu_check.py          # here: CPU only, and CUDA when torch sees a GPU

Times one round of ``advrec train``'s default game (defence ``atla``: a recommender phase, then an
adversary phase with its white-box warm start) on each device, with the same settings and seed, and
prints the recommender's and the adversary's env steps per second of each phase. Writes
``benchmarks/results/gpu_check.json``. On CPU the env steps and PPO's updates share the cores; on a GPU
the networks run there and the compiled env kernel stays on the CPU.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results" / "gpu_check.json"


def time_game(device: str, steps: int, attacker_steps: int, num_envs: int) -> dict:
    from agents.training import TrainConfig, Trainer

    with tempfile.TemporaryDirectory() as out:
        config = TrainConfig(
            defence="atla",
            rounds=1,
            recommender_steps=steps,
            attacker_steps=attacker_steps,
            num_envs=num_envs,
            device=device,
            output_dir=out,
            eval_attacks=[],
            phase_eval_episodes=0,
            progress_bar=False,
            tensorboard=False,
        )
        trainer = Trainer(config, stream=io.StringIO())
        trainer.train(evaluate=False)
        phases = {r["player"]: r["seconds"] for r in trainer.results}
    return {
        "device": device,
        "name": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
        "recommender_steps_per_s": steps / phases["recommender"],
        "adversary_steps_per_s": attacker_steps / phases["adversary"],
        "phase_seconds": phases,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=50_000, help="recommender steps of the timed round")
    parser.add_argument("--attacker-steps", type=int, default=10_000)
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = [time_game(d, args.steps, args.attacker_steps, args.num_envs) for d in devices]
    print(f"{'device':<8}{'name':<28}{'recommender steps/s':>22}{'adversary steps/s':>20}")
    for r in rows:
        print(
            f"{r['device']:<8}{r['name']:<28}{r['recommender_steps_per_s']:>22,.0f}{r['adversary_steps_per_s']:>20,.0f}"
        )
    if len(rows) == 1:
        print("torch sees no CUDA GPU here: only the CPU was timed.")
    from advrec_gym._io import atomic_write_json
    from benchmarks.provenance import provenance

    settings = {**vars(args), "output": str(args.output)}
    atomic_write_json(args.output, {"rows": rows, "settings": settings, "provenance": provenance()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
