"""Throughput of AdvRec-v0: env steps per second and catalogue encoding speed.

Prints a table and writes ``benchmarks/results/throughput.json`` with the machine, the command, the
git commit and the date. Every number is the median of ``--repeats`` runs. Random actions are drawn
before the clock starts, so only the environment is timed.

    python benchmarks/throughput.py                 # the full benchmark (a few minutes on 2 cores)
    python benchmarks/throughput.py --quick         # a smoke run (a few seconds), not for the record

Measured:

* ``single``: ``gym.make("AdvRec-v0")`` (TimeLimit, order and passive checkers included) stepped one
  user at a time, resetting at episode end: steps/s and microseconds per step.
* ``vector``: ``gym.make_vec("AdvRec-v0", num_envs=N, vectorization_mode="vector_entry_point")`` at
  each N with ``copy=True`` (a fresh observation array per step, the default) and ``copy=False`` (the
  engine's buffer): user-steps/s, i.e. N times the vector steps per second, autoresets included.
* ``encode``: the default catalogue's texts encoded by the default model with no cache (items/s; the
  model is loaded once before timing, and its load time is reported apart), and the same catalogue
  built again from a warm cache (seconds).

* ``sardine`` (with ``--sardine-python``): SARDINE's single-item and top-k slate envs, same protocol.

Each rate is given per wall-clock second and per CPU second of this process (``time.process_time``).
On a shared machine the wall-clock rate drops with the load of other processes (the JSON records the
load average at the start); the CPU-time rate is the steadier estimate of what an idle machine gives
(for encoding it sums torch's threads).

Targets: at least 1,000,000 user-steps/s at num_envs=4096, at most 50 us per single-env step.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import advrec_gym
from advrec_gym import Catalogue, TransformerEncoder
from advrec_gym._io import atomic_write_json
from benchmarks.provenance import provenance

RESULTS = Path(__file__).resolve().parent / "results" / "throughput.json"
TARGET_VECTOR_STEPS_PER_S = 1_000_000  # at num_envs=4096
TARGET_SINGLE_US_PER_STEP = 50.0


# ---------------------------------------------------------------------------- environment speed
def bench_single(steps: int, repeats: int, seed: int = 0) -> dict:
    """Median steps/s of the single env through gym.make, resetting at episode end."""
    env = gym.make("AdvRec-v0")
    num_items = env.unwrapped.catalogue.num_items
    actions = np.random.default_rng(seed).integers(0, num_items, size=steps).tolist()
    env.reset(seed=seed)
    for a in actions[:500]:  # warm-up
        if any(env.step(a)[2:4]):
            env.reset()
    rates, cpu_rates = [], []
    for _ in range(repeats):
        env.reset(seed=seed)
        start, cpu_start = time.perf_counter(), time.process_time()
        for a in actions:
            _, _, terminated, truncated, _ = env.step(a)
            if terminated or truncated:
                env.reset()
        cpu_rates.append(steps / (time.process_time() - cpu_start))
        rates.append(steps / (time.perf_counter() - start))
    rate, cpu_rate = statistics.median(rates), statistics.median(cpu_rates)
    return {
        "steps_per_s": rate,
        "us_per_step": 1e6 / rate,
        "steps_per_cpu_s": cpu_rate,
        "cpu_us_per_step": 1e6 / cpu_rate,
        "repeats": rates,
        "steps": steps,
    }


def bench_vector(
    num_envs: int, copy: bool, user_steps: int, repeats: int, max_steps: int = 20_000, seed: int = 0
) -> dict:
    """Median user-steps/s of the native vector env (autoresets included)."""
    venv = gym.make_vec("AdvRec-v0", num_envs=num_envs, vectorization_mode="vector_entry_point", copy=copy)
    num_items = venv.unwrapped.catalogue.num_items
    steps = min(max_steps, max(20, user_steps // num_envs))
    actions = np.random.default_rng(seed).integers(0, num_items, size=(steps, num_envs))
    venv.reset(seed=seed)
    for a in actions[: min(steps, 50)]:  # warm-up: fills the averages, reaches steady-state autoresets
        venv.step(a)
    rates, cpu_rates = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        for a in actions:
            venv.step(a)
        cpu_rates.append(steps * num_envs / (time.process_time() - cpu_start))
        rates.append(steps * num_envs / (time.perf_counter() - start))
    rate = statistics.median(rates)
    return {
        "num_envs": num_envs,
        "copy": copy,
        "user_steps_per_s": rate,
        "vector_steps_per_s": rate / num_envs,
        "user_steps_per_cpu_s": statistics.median(cpu_rates),
        "repeats": rates,
        "steps": steps,
    }


# ---------------------------------------------------------------------------- SARDINE, side by side
# SARDINE (PyPI ``sardine-rec``) is not a dependency: give ``--sardine-python`` the interpreter of a
# throwaway environment that has it (``python -m venv /tmp/sardine && /tmp/sardine/bin/pip install
# sardine-rec``). It is timed by the same protocol as the single env above, in that interpreter.
SARDINE_IDS = ("sardine/SingleItem-Static-v0", "sardine/SlateTopK-Bored-v0")
_SARDINE_SNIPPET = """
import json, statistics, sys, time
import gymnasium as gym, numpy as np
import sardine
env_id, steps, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
env = gym.make(env_id)
nvec = env.action_space.nvec
actions = np.random.default_rng(0).integers(0, nvec[0], size=(steps, len(nvec)))
env.reset(seed=0)
rates, cpu_rates = [], []
for _ in range(repeats):
    env.reset(seed=0)
    start, cpu_start = time.perf_counter(), time.process_time()
    for a in actions:
        _, _, terminated, truncated, _ = env.step(a)
        if terminated or truncated:
            env.reset()
    cpu_rates.append(steps / (time.process_time() - cpu_start))
    rates.append(steps / (time.perf_counter() - start))
print(json.dumps({"env_id": env_id, "slate_size": len(nvec), "version": sardine.__version__,
                  "steps_per_s": statistics.median(rates), "steps_per_cpu_s": statistics.median(cpu_rates),
                  "repeats": rates, "steps": steps}))
"""


def bench_sardine(python: str, steps: int, repeats: int) -> list[dict]:
    """Steps/s of SARDINE's envs (through gym.make, as above), run in the interpreter ``python``."""
    out = []
    for env_id in SARDINE_IDS:
        proc = subprocess.run(
            [python, "-c", _SARDINE_SNIPPET, env_id, str(steps), str(repeats)], capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise RuntimeError(f"SARDINE benchmark failed in {python}:\n{proc.stderr[-2000:]}")
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


# ---------------------------------------------------------------------------- encoding speed
def bench_encode(num_items: int, repeats: int) -> dict:
    """Cold encoding (no cache) of the synthetic catalogue's texts, and its reload from a warm cache."""
    with tempfile.TemporaryDirectory() as cache_dir:
        start = time.perf_counter()
        encoder = TransformerEncoder(progress=False)
        encoder.load()  # timed apart: a cold build pays it once
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        catalogue = Catalogue.synthetic(num_items, encoder=encoder, cache_dir=cache_dir)  # cold: encodes
        first_build_s = time.perf_counter() - start
        texts = list(catalogue.texts)
        encode_s, encode_cpu_s = [], []
        for _ in range(repeats):
            start, cpu_start = time.perf_counter(), time.process_time()
            emb = encoder.encode(texts)
            encode_cpu_s.append(time.process_time() - cpu_start)  # summed over torch's threads
            encode_s.append(time.perf_counter() - start)
        assert emb.shape == catalogue.embeddings.shape
        cached_s = []
        for _ in range(max(repeats, 5)):
            start = time.perf_counter()
            again = Catalogue.synthetic(num_items, cache_dir=cache_dir)  # a fresh encoder, never loaded
            cached_s.append(time.perf_counter() - start)
        assert np.array_equal(again.embeddings, catalogue.embeddings)
    encode = statistics.median(encode_s)
    return {
        "num_items": num_items,
        "model": "all-MiniLM-L6-v2",
        "device": encoder.device,
        "model_load_s": load_s,
        "first_build_s": first_build_s,
        "encode_s": encode,
        "items_per_s": num_items / encode,
        "items_per_cpu_s": num_items / statistics.median(encode_cpu_s),
        "encode_repeats_s": encode_s,
        "build_from_cache_s": statistics.median(cached_s),
        "build_from_cache_repeats_s": cached_s,
    }


# ---------------------------------------------------------------------------- provenance
def machine_info() -> dict:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "gymnasium": gym.__version__,
        "advrec_gym": advrec_gym.__version__,
    }


# ---------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement (the median is reported)")
    parser.add_argument("--single-steps", type=int, default=20_000, help="steps per single-env run")
    parser.add_argument("--user-steps", type=int, default=200_000, help="user-steps per vector-env run")
    parser.add_argument("--max-vector-steps", type=int, default=20_000, help="cap on vector steps per run (small N)")
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1, 64, 1024, 4096])
    parser.add_argument("--encode-items", type=int, default=1000, help="items encoded cold")
    parser.add_argument("--encode-repeats", type=int, default=3)
    parser.add_argument("--torch-threads", type=int, default=None, help="torch threads for encoding (default: torch's)")
    parser.add_argument("--skip-encode", action="store_true", help="skip the encoding benchmark")
    parser.add_argument(
        "--sardine-python",
        default=None,
        help="a Python that has sardine-rec installed: adds SARDINE's envs to the table",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: few steps, one repeat, no JSON")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.single_steps, args.user_steps, args.encode_repeats = 1, 2000, 20_000, 1
        args.max_vector_steps = 2000
        args.encode_items = min(args.encode_items, 100)

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.torch_threads is not None:
        import torch

        torch.set_num_threads(args.torch_threads)
    info = machine_info()
    print(f"AdvRec-v0 throughput on {info['cpu']} ({info['cpu_count']} CPUs, load {info['load_average_at_start']})")
    gym.make("AdvRec-v0")  # build (or load) the default catalogue before any clock starts

    single = bench_single(args.single_steps, args.repeats)
    vector = [
        bench_vector(n, copy, args.user_steps, args.repeats, args.max_vector_steps)
        for n in args.num_envs
        for copy in (True, False)
    ]
    sardine = bench_sardine(args.sardine_python, args.single_steps, args.repeats) if args.sardine_python else None
    encode = None if args.skip_encode else bench_encode(args.encode_items, args.encode_repeats)

    header = ("benchmark", "num_envs", "user-steps/s", "per CPU-s", "")
    rows = [
        (
            "single env, gym.make",
            "1",
            f"{single['steps_per_s']:,.0f}",
            f"{single['steps_per_cpu_s']:,.0f}",
            f"{single['us_per_step']:.1f} us/step ({single['cpu_us_per_step']:.1f} CPU-us)",
        )
    ]
    for v in vector:
        us = 1e6 / v["vector_steps_per_s"]
        rows.append(
            (
                f"vector env, copy={v['copy']}",
                str(v["num_envs"]),
                f"{v['user_steps_per_s']:,.0f}",
                f"{v['user_steps_per_cpu_s']:,.0f}",
                f"{us:,.0f} us/vector step",
            )
        )
    for sd in sardine or []:
        rows.append(
            (
                f"SARDINE {sd['env_id'].split('/')[1]}",
                "1",
                f"{sd['steps_per_s']:,.0f}",
                f"{sd['steps_per_cpu_s']:,.0f}",
                f"{1e6 / sd['steps_per_s']:.1f} us/step (slate {sd['slate_size']}, sardine-rec {sd['version']})",
            )
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print()
    for r in [header, tuple("-" * w for w in widths), *rows]:
        print(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}  {r[4]}")
    if encode:
        print(
            f"\nencoding {encode['num_items']} items cold ({encode['model']}, {encode['device']}): "
            f"{encode['items_per_s']:,.0f} items/s ({encode['encode_s']:.2f} s, {encode['items_per_cpu_s']:,.0f} items per CPU-s; "
            f"model load {encode['model_load_s']:.2f} s); "
            f"rebuild from cache: {encode['build_from_cache_s'] * 1000:.0f} ms"
        )

    at_4096 = [v["user_steps_per_s"] for v in vector if v["num_envs"] == 4096]
    targets = {
        "vector_4096_user_steps_per_s": {
            "target": TARGET_VECTOR_STEPS_PER_S,
            "reached": max(at_4096) if at_4096 else None,
            "met": bool(at_4096) and max(at_4096) >= TARGET_VECTOR_STEPS_PER_S,
        },
        "single_us_per_step": {
            "target": TARGET_SINGLE_US_PER_STEP,
            "reached": single["us_per_step"],
            "met": single["us_per_step"] <= TARGET_SINGLE_US_PER_STEP,
        },
    }
    print()
    for name, t in targets.items():
        reached = "n/a" if t["reached"] is None else f"{t['reached']:,.1f}"
        print(f"target {name}: {t['target']:,} -> {reached} ({'met' if t['met'] else 'NOT met'})")

    result = {
        "provenance": provenance([Path(sys.executable).name, *sys.argv]),
        "machine": info,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "single": single,
        "vector": vector,
        "encode": encode,
        "sardine": sardine,
        "targets": targets,
    }
    if not args.quick:
        atomic_write_json(args.output, result)
        print(f"\nwrote {args.output}")
    return result


if __name__ == "__main__":
    main()
