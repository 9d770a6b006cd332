"""Cost of each attacker per attacked step, relative to one victim forward pass and one forward+backward.

The victim is SB3 ``PPO("MlpPolicy")`` on the default AdvRec-v0 env (1,000 items, 384-d embeddings,
observation 1,155, actions Discrete(1000)); weights are untrained, which does not change the cost.
Each attack perturbs a batch of real observations (collected by a random recommender) at batch 1 and
1024. ``forward`` is numpy obs -> tensor -> ``policy.get_distribution`` -> greedy action -> numpy;
``fwd+bwd`` is the gradient of ``log pi(a)`` (a fixed action) with respect to the input, back in numpy.
Timings are CPU seconds of this process (``time.process_time``), the best of ``--repeats`` rounds,
the rounds of baselines and attacks interleaved: on a shared machine wall-clock time mostly measured
the other processes. One torch thread by default
(``--threads``; several threads on a shared 2-core machine made every timing 10-100x slower); with a
GPU victim (``--device cuda``) process time does not count the GPU's work, so use wall time there.

Run::

    ADVREC_CACHE_DIR=/tmp/advrec-cache python benchmarks/attacks_throughput.py

It prints a table and writes ``benchmarks/results/attacks_throughput.json``. Target:
PGD-10 costs at most 12x one forward+backward pass.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO

import advrec_gym  # noqa: F401  (registers AdvRec-v0)
from advrec_gym._io import atomic_write_json
from advrec_gym.attacks import FGSM, PGD, AttackerVectorEnv, Budget, CriticPGD, LearnedAdversary, RandomNoise
from advrec_gym.sb3_adapter import SB3VecEnvAdapter
from benchmarks.provenance import provenance

RESULTS = Path(__file__).parent / "results" / "attacks_throughput.json"


def collect_observations(venv, n: int, seed: int) -> np.ndarray:
    """``n`` observations from the vector env under uniformly random recommendations."""
    rng = np.random.default_rng(seed)
    obs, _ = venv.reset(seed=seed)
    rows = []
    while sum(len(r) for r in rows) < n:
        obs, *_ = venv.step(rng.integers(0, venv.single_action_space.n, venv.num_envs))
        rows.append(obs.copy())
    return np.concatenate(rows)[:n]


def best_times(fns: dict[str, Callable[[], object]], repeats: int, round_seconds: float = 0.05) -> dict[str, float]:
    """CPU seconds per call of each function: the best over ``repeats`` rounds of about ``round_seconds``.

    The rounds of all functions are interleaved, so a change in the machine's load during the run
    affects the baselines and the attacks alike and cancels in their ratios.
    """
    calls = {}
    for name, fn in fns.items():
        fn()  # warm up
        start = time.process_time()
        fn()
        calls[name] = max(1, int(round_seconds / max(time.process_time() - start, 1e-9)))
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.process_time()
            for _ in range(calls[name]):
                fn()
            best[name] = min(best[name], (time.process_time() - start) / calls[name])
    return best


def victim_passes(policy, obs: np.ndarray) -> tuple[Callable[[], object], Callable[[], object]]:
    """One forward pass (acting: the greedy action) and one forward+backward (grad of log pi(a) in the input)."""
    device = policy.device
    with torch.no_grad():
        actions = policy.get_distribution(torch.as_tensor(obs, device=device)).mode()

    def forward():
        with torch.no_grad():
            x = torch.as_tensor(obs, device=device)
            return policy.get_distribution(x).mode().cpu().numpy()

    def forward_backward():
        x = torch.as_tensor(obs, device=device).requires_grad_(True)
        (grad,) = torch.autograd.grad(policy.get_distribution(x).log_prob(actions).sum(), x)
        return grad.cpu().numpy()

    return forward, forward_backward


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 1024])
    parser.add_argument("--eps", type=float, default=0.01, help="L-inf budget (raw embedding units)")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--device", default="cpu", help="the victim's device (cpu, cuda, auto)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    venv = gym.make_vec("AdvRec-v0", num_envs=64, vectorization_mode="vector_entry_point")
    victim = PPO("MlpPolicy", SB3VecEnvAdapter(venv), seed=0, device=args.device)
    policy = victim.policy
    budget = Budget(args.eps, "inf")
    adversary_env = AttackerVectorEnv(victim, venv, budget=budget)
    adversary = PPO("MlpPolicy", SB3VecEnvAdapter(adversary_env), seed=0, device=args.device)
    attackers = {
        "random": RandomNoise(budget, seed=0),
        "fgsm": FGSM(victim, budget),
        "pgd-10": PGD(victim, budget, steps=10),
        "pgd-10 kl": PGD(victim, budget, steps=10, objective="kl", seed=0),
        "pgd-10 target": PGD(victim, budget, steps=10, objective="target", target=0),
        "critic-pgd-10": CriticPGD(victim, budget, steps=10),
        "learned": LearnedAdversary(adversary, budget),
    }
    observations = collect_observations(venv, max(args.batches), seed=0)

    rows = []
    for batch in args.batches:
        obs = observations[:batch]
        forward, forward_backward = victim_passes(policy, obs)
        fns = {"(forward)": forward, "(fwd+bwd)": forward_backward}
        fns.update({name: (lambda a=attacker, o=obs: a.perturb(o)) for name, attacker in attackers.items()})
        times = best_times(fns, args.repeats)
        t_fwd, t_fb = times["(forward)"], times["(fwd+bwd)"]
        rows.extend(dict(attacker=name, batch=batch, seconds=seconds) for name, seconds in times.items())
        for row in rows:
            if row["batch"] == batch:
                row["x_forward"] = row["seconds"] / t_fwd
                row["x_fwd_bwd"] = row["seconds"] / t_fb

    print(f"{'attacker':<16}{'batch':>6}{'ms/call':>10}{'us/row':>10}{'x fwd':>8}{'x fwd+bwd':>11}")
    for r in rows:
        print(
            f"{r['attacker']:<16}{r['batch']:>6}{1e3 * r['seconds']:>10.3f}{1e6 * r['seconds'] / r['batch']:>10.1f}"
            f"{r['x_forward']:>8.2f}{r['x_fwd_bwd']:>11.2f}"
        )
    pgd = {r["batch"]: r["x_fwd_bwd"] for r in rows if r["attacker"] == "pgd-10"}
    print(
        "PGD-10 / one forward+backward: "
        + ", ".join(f"batch {b}: {x:.1f}x" for b, x in pgd.items())
        + " (target <= 12x)"
    )

    result = {
        "benchmark": "attacks_throughput",
        "provenance": provenance(
            ["python", "benchmarks/attacks_throughput.py", *(sys.argv[1:] if argv is None else argv)]
        ),
        "hardware": {
            "machine": platform.machine(),
            "processor": _cpu_name(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "device": str(policy.device),
            "torch": torch.__version__,
        },
        "victim": "PPO MlpPolicy on AdvRec-v0 defaults (obs 1155, Discrete(1000))",
        "budget": {"eps": args.eps, "norm": "inf"},
        "rows": rows,
        "pgd10_x_fwd_bwd": pgd,
    }
    atomic_write_json(args.out, result)
    print(f"wrote {args.out}")
    return 0


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    raise SystemExit(main())
