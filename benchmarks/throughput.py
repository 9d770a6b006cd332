"""Throughput of AdvRec: env steps per second against the memory roofline, memory per user, compile time.

Prints a table and writes ``benchmarks/results/throughput.json`` with the machine, the command, the git
commit and the date. Every number is the median of ``--repeats`` runs. Random actions are drawn before
the clock starts, so only the environment is timed.

    python benchmarks/throughput.py --sardine-python /tmp/sardine/bin/python   # the committed run
    python benchmarks/throughput.py --quick                                     # a smoke run, no JSON

Measured, for ``--env-id`` (default AdvRec-v1):

* ``single``: ``gym.make(env_id)`` (order and passive checkers included) stepped one user at a time,
  resetting at episode end: steps/s and microseconds per step.
* ``vector``: ``gym.make_vec(env_id, num_envs=N, vectorization_mode="vector_entry_point")`` at each N
  with ``copy=True`` (a fresh observation array per step, the default) and ``copy=False`` (the engine's
  buffer): user-steps/s, i.e. N times the vector steps per second, autoresets included; and the bytes
  of per-user state.
* ``roofline``: at each N, a compiled kernel that only writes every observation row once into a
  preallocated (N, obs_dim) float32 buffer (the least any env that returns those observations must do),
  and ``np.copyto`` of that buffer into another (read + write: what ``copy=True`` adds); and the
  *state roofline*, a compiled kernel that moves the least memory a step of these dynamics must move
  (read the user's interest, read-modify-write two history blocks: the observation is the state, so
  a step reads what it averages into). The vector env's rate is reported as a share of both,
  measured at the same N in the same run. Beside them, not a roofline, the *step core*: the state
  roofline's kernel plus the step's two 384-d dot products with a random shown item's row (the
  arithmetic no step of these dynamics can skip), to show how much of the gap that alone costs.
* ``compile``: the first ``reset`` + ``step`` in a fresh process with an empty numba cache (compiles the
  kernel) and again with the cache it left (``numba cache=True``: what every later process pays).
* ``encode``: the default catalogue's texts encoded by the default model with no cache (items/s; the
  model is loaded once before timing, its load time reported apart), and the catalogue rebuilt from a
  warm cache.
* ``sardine`` (with ``--sardine-python``): SARDINE's single-item and top-k slate envs, same protocol.

Each rate is given per wall-clock second and per CPU second of this process (``time.process_time``);
on a shared machine the wall-clock rate drops with the load (the JSON records the load average).

With ``--threads`` (default 1 and the CPU count) the vector env is also stepped by several numba
threads (``copy=False``) and compared with the roofline written by as many threads.

Targets: the vector env at 4096 and 16384 users at >= 70% of the write-only roofline, >= 50x SARDINE's
single-env steps/s; the single env >= 8x SARDINE's.
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
from advrec_gym import Catalogue, ItemKinds, TransformerEncoder
from advrec_gym._io import atomic_write_json
from benchmarks.provenance import provenance

RESULTS = Path(__file__).resolve().parent / "results" / "throughput.json"
TARGET_ROOFLINE_SHARE = 0.70  # of the write-only roofline, at 4096 and 16384 users
TARGET_VECTOR_OVER_SARDINE = 50.0
TARGET_SINGLE_OVER_SARDINE = 8.0
TARGET_NUM_ENVS = (4096, 16384)


# ---------------------------------------------------------------------------- environment speed
def bench_single(env_id: str, steps: int, repeats: int, seed: int = 0) -> dict:
    """Median steps/s of the single env through gym.make, resetting at episode end."""
    env = gym.make(env_id)
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
    env_id: str,
    num_envs: int,
    copy: bool,
    user_steps: int,
    repeats: int,
    max_steps: int = 20_000,
    seed: int = 0,
    threads: int = 1,
) -> dict:
    """Median user-steps/s of the native vector env (autoresets included), stepped by ``threads`` numba threads."""
    kwargs = {"threads": threads} if threads > 1 else {}
    venv = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", copy=copy, **kwargs)
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
    engine = venv.unwrapped.engine
    per_user = engine.nbytes_per_user() if hasattr(engine, "nbytes_per_user") else None
    return {
        "num_envs": num_envs,
        "copy": copy,
        "threads": threads,
        "bytes_per_user": per_user,
        "obs_dim": int(venv.single_observation_space.shape[0]),
        "user_steps_per_s": rate,
        "vector_steps_per_s": rate / num_envs,
        "user_steps_per_cpu_s": statistics.median(cpu_rates),
        "repeats": rates,
        "steps": steps,
    }


# ---------------------------------------------------------------------------- the roofline
def bench_roofline(num_envs: int, obs_dim: int, user_steps: int, repeats: int, threads: int = 1) -> dict:
    """User-steps/s of three compiled references and of copying the buffer (np.copyto):

    * the **write-only roofline**: write every observation row once (the least any env returning
      these observations must do);
    * the **state roofline**: the least memory traffic of a step of these dynamics: read the user's
      interest row, and read-modify-write two of the four history blocks (the shown average, and the
      block the outcome goes to) as exponential averages. The observation *is* the history state, so
      a step must read what it averages into; the write-only roofline never reads;
    * the **step core** (not a roofline): the state roofline's kernel plus the step's two 384-d dot
      products with a random shown item's row of a 1,000-item table.

    With ``threads`` > 1 the rows are handled by that many numba threads (the reference of the
    threaded vector env); ``np.copyto`` is single-threaded either way.
    """
    import numba

    from advrec_gym import kernel as K

    def _write(obs, value, chunks):
        n = obs.shape[0]
        for chunk in numba.prange(chunks):
            for i in range(chunk * n // chunks, (chunk + 1) * n // chunks):
                row = obs[i]
                for c in range(row.shape[0]):
                    row[c] = value

    @numba.njit(fastmath=True, inline="always")
    def _update_two_blocks(row, x, rate, dim):
        # the shown average and the outcome's block move toward x (unsigned offsets, as the kernel's loops)
        shown, outcome = np.uint64(K.SHOWN * dim), np.uint64(K.SKIPPED * dim)
        for c in range(dim):
            j, k = shown + np.uint64(c), outcome + np.uint64(c)
            row[j] += rate * (x[c] - row[j])
            row[k] += rate * (x[c] - row[k])

    def _state(obs, users, rate, chunks):
        n, dim = users.shape
        for chunk in numba.prange(chunks):
            for i in range(chunk * n // chunks, (chunk + 1) * n // chunks):
                _update_two_blocks(obs[i], users[i], rate, dim)

    def _core(obs, users, tables, items, rate, chunks):
        # the state traffic plus a step's core arithmetic: the two 384-d dot products with the shown
        # item's row (affinity with the interest, fatigue with the shown average), then the two updates
        n, dim = users.shape
        shown = np.uint64(K.SHOWN * dim)
        for chunk in numba.prange(chunks):
            for i in range(chunk * n // chunks, (chunk + 1) * n // chunks):
                row, u, e = obs[i], users[i], tables[items[i]]
                a, f = np.float32(0.0), np.float32(0.0)
                for c in range(dim):
                    a += u[c] * e[c]
                    f += row[shown + np.uint64(c)] * e[c]
                _update_two_blocks(row, e, rate * (np.float32(1.0) + np.float32(1e-9) * (a + f)), dim)  # dots kept live

    if threads > 1:
        numba.set_num_threads(threads)
    jit = numba.njit(cache=False, fastmath=True, parallel=threads > 1)
    write_kernel, state_kernel, core_kernel = jit(_write), jit(_state), jit(_core)
    chunks = 4 * threads  # as the threaded vector env splits its users

    dim = (obs_dim - K.NUM_SCALARS) // K.NUM_BLOCKS
    src = np.zeros((num_envs, obs_dim), dtype=np.float32)
    dst = np.zeros_like(src)
    users = np.full((num_envs, dim), 0.5, dtype=np.float32)
    rate = np.float32(0.1)
    steps = max(10, user_steps // num_envs)
    tables = np.random.default_rng(0).random((1000, dim), dtype=np.float32)  # the default catalogue's size
    items = np.random.default_rng(1).integers(0, len(tables), size=(8, num_envs))  # random shown items
    write_kernel(src, 0.5, chunks)
    state_kernel(src, users, rate, chunks)
    core_kernel(src, users, tables, items[0], rate, chunks)
    np.copyto(dst, src)
    writes, states, cores, copies = [], [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        for k in range(steps):
            write_kernel(src, float(k), chunks)
        writes.append(steps * num_envs / (time.perf_counter() - start))
        start = time.perf_counter()
        for _ in range(steps):
            state_kernel(src, users, rate, chunks)
        states.append(steps * num_envs / (time.perf_counter() - start))
        start = time.perf_counter()
        for k in range(steps):
            core_kernel(src, users, tables, items[k % len(items)], rate, chunks)
        cores.append(steps * num_envs / (time.perf_counter() - start))
        start = time.perf_counter()
        for _ in range(steps):
            np.copyto(dst, src)
        copies.append(steps * num_envs / (time.perf_counter() - start))
    return {
        "num_envs": num_envs,
        "obs_dim": obs_dim,
        "threads": threads,
        "write_user_steps_per_s": statistics.median(writes),
        "state_user_steps_per_s": statistics.median(states),
        "core_user_steps_per_s": statistics.median(cores),
        "copy_user_steps_per_s": statistics.median(copies),
        "write_gb_per_s": statistics.median(writes) * obs_dim * 4 / 1e9,
        "state_bytes_per_user_step": 5 * dim * 4,  # read 3 rows of dim floats (interest, 2 blocks), write 2
        "write_repeats": writes,
        "state_repeats": states,
        "core_repeats": cores,
        "copy_repeats": copies,
    }


_COMPILE_SNIPPET = """
import json, time
start = time.perf_counter()
import gymnasium as gym, numpy as np, advrec_gym
from advrec_gym import AdvRecVectorEnv, Catalogue
imported = time.perf_counter()
cat = Catalogue.from_embeddings(np.eye(8, dtype=np.float32) + 0.1, topics=["a", "b"] * 4)
venv = AdvRecVectorEnv(4, catalogue=cat)
venv.reset(seed=0)
venv.step(np.zeros(4, dtype=np.int64))
env = advrec_gym.AdvRecEnv(catalogue=cat)
env.reset(seed=0)
env.step(0)
done = time.perf_counter()
print(json.dumps({"import_s": imported - start, "first_reset_and_step_s": done - imported}))
"""


def bench_compile() -> dict:
    """The kernel's first call in a fresh process: with an empty numba cache (compiles) and with the cache it left."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        runs = []
        for _ in range(2):
            proc = subprocess.run([sys.executable, "-c", _COMPILE_SNIPPET], capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                raise RuntimeError(f"compile benchmark failed:\n{proc.stderr[-2000:]}")
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return {"cold": runs[0], "cached": runs[1]}


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
        catalogue = Catalogue.synthetic(num_items, kinds=ItemKinds(), encoder=encoder, cache_dir=cache_dir)  # cold
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
            again = Catalogue.synthetic(
                num_items, kinds=ItemKinds(), cache_dir=cache_dir
            )  # a fresh encoder, never loaded
            cached_s.append(time.perf_counter() - start)
        assert np.array_equal(again.embeddings, catalogue.embeddings)
    encode = statistics.median(encode_s)
    return {
        "num_items": num_items,
        "model": "all-MiniLM-L6-v2",
        "device": str(encoder.device),
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
def _targets(vector: list[dict], roofline: list[dict], single: dict, sardine: list[dict] | None) -> dict:
    """The targets, each with what was reached (``None`` where its reference was not measured)."""
    roof = {(r["num_envs"], r.get("threads", 1)): r["write_user_steps_per_s"] for r in roofline}
    out = {}
    for n in TARGET_NUM_ENVS:
        for v in vector:
            if v["num_envs"] != n:
                continue
            threads = v.get("threads", 1)
            share = v["user_steps_per_s"] / roof[(n, threads)] if (n, threads) in roof else None
            name = f"vector_{n}_copy_{v['copy']}" + (f"_threads_{threads}" if threads > 1 else "")
            out[f"{name}_roofline_share"] = {
                "target": TARGET_ROOFLINE_SHARE,
                "reached": share,
                "met": share is not None and share >= TARGET_ROOFLINE_SHARE,
            }
    sardine_single = max((sd["steps_per_s"] for sd in sardine or []), default=None)
    best_vector = max(  # one thread: SARDINE steps one user in one Python thread
        (v["user_steps_per_s"] for v in vector if v["num_envs"] in TARGET_NUM_ENVS and v["threads"] == 1), default=None
    )
    for name, rate, target in (
        ("vector_over_sardine", best_vector, TARGET_VECTOR_OVER_SARDINE),
        ("single_over_sardine", single["steps_per_s"], TARGET_SINGLE_OVER_SARDINE),
    ):
        ratio = None if rate is None or sardine_single is None else rate / sardine_single
        out[name] = {"target": target, "reached": ratio, "met": ratio is not None and ratio >= target}
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env-id", default=advrec_gym.DEFAULT_ENV_ID, help="the env to time")
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement (the median is reported)")
    parser.add_argument("--single-steps", type=int, default=20_000, help="steps per single-env run")
    parser.add_argument("--user-steps", type=int, default=2_000_000, help="user-steps per vector-env run")
    parser.add_argument("--max-vector-steps", type=int, default=20_000, help="cap on vector steps per run (small N)")
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1, 64, 1024, 4096, 16384])
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=sorted({1, os.cpu_count() or 1}),
        help="numba thread counts of the vector env (copy=False) and of its roofline (1 also times copy=True)",
    )
    parser.add_argument("--encode-items", type=int, default=1000, help="items encoded cold")
    parser.add_argument("--encode-repeats", type=int, default=3)
    parser.add_argument("--torch-threads", type=int, default=None, help="torch threads for encoding (default: torch's)")
    parser.add_argument("--skip-encode", action="store_true", help="skip the encoding benchmark")
    parser.add_argument("--skip-compile", action="store_true", help="skip the compile-time benchmark")
    parser.add_argument(
        "--sardine-python",
        default=None,
        help="a Python that has sardine-rec installed: adds SARDINE's envs to the table",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: few steps, one repeat, no JSON")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    import numba

    most = numba.config.NUMBA_NUM_THREADS
    if any(not 1 <= t <= most for t in args.threads):
        parser.error(f"--threads must be in [1, {most}] (numba's thread pool), got {args.threads}")
    if args.quick:
        args.repeats, args.single_steps, args.user_steps, args.encode_repeats = 1, 2000, 100_000, 1
        args.max_vector_steps = 2000
        args.encode_items = min(args.encode_items, 100)

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.torch_threads is not None:
        import torch

        torch.set_num_threads(args.torch_threads)
    stamp = provenance([Path(sys.executable).name, *sys.argv])  # the tree as it is when the clocks start
    info = machine_info()
    print(f"{args.env_id} throughput on {info['cpu']} ({info['cpu_count']} CPUs, load {info['load_average_at_start']})")
    gym.make(args.env_id)  # build (or load) the default catalogue, and compile, before any clock starts

    single = bench_single(args.env_id, args.single_steps, args.repeats)
    vector, roofline = [], []
    for n in args.num_envs:
        for threads in args.threads:
            for copy in (True, False) if threads == 1 else (False,):
                vector.append(
                    bench_vector(args.env_id, n, copy, args.user_steps, args.repeats, args.max_vector_steps, 0, threads)
                )
            roofline.append(bench_roofline(n, vector[-1]["obs_dim"], args.user_steps, args.repeats, threads))
    sardine = bench_sardine(args.sardine_python, args.single_steps, args.repeats) if args.sardine_python else None
    compile_times = None if args.skip_compile else bench_compile()
    encode = None if args.skip_encode else bench_encode(args.encode_items, args.encode_repeats)

    roof = {(r["num_envs"], r["threads"]): r for r in roofline}
    header = ("benchmark", "num_envs", "user-steps/s", "per CPU-s", "of write / state roofline", "")
    rows = [
        (
            "single env, gym.make",
            "1",
            f"{single['steps_per_s']:,.0f}",
            f"{single['steps_per_cpu_s']:,.0f}",
            "",
            f"{single['us_per_step']:.1f} us/step ({single['cpu_us_per_step']:.1f} CPU-us)",
        )
    ]
    for v in vector:
        us = 1e6 / v["vector_steps_per_s"]
        r = roof[(v["num_envs"], v["threads"])]
        share, state_share = (
            v["user_steps_per_s"] / r[key] for key in ("write_user_steps_per_s", "state_user_steps_per_s")
        )
        v["roofline_share"], v["state_roofline_share"] = share, state_share
        memory = f", {v['bytes_per_user']:,} B/user" if v["bytes_per_user"] else ""
        threads = f", {v['threads']} threads" if v["threads"] > 1 else ""
        rows.append(
            (
                f"vector env, copy={v['copy']}{threads}",
                str(v["num_envs"]),
                f"{v['user_steps_per_s']:,.0f}",
                f"{v['user_steps_per_cpu_s']:,.0f}",
                f"{100 * share:.0f}% / {100 * state_share:.0f}%",
                f"{us:,.0f} us/vector step{memory}",
            )
        )
    for r in roofline:
        rows.append(
            (
                "roofline: write obs rows" + (f", {r['threads']} threads" if r["threads"] > 1 else ""),
                str(r["num_envs"]),
                f"{r['write_user_steps_per_s']:,.0f}",
                "",
                "100%",
                f"{r['write_gb_per_s']:.1f} GB/s written; np.copyto {r['copy_user_steps_per_s']:,.0f} user-steps/s",
            )
        )
        rows.append(
            (
                "state roofline: read interest, update 2 blocks"
                + (f", {r['threads']} threads" if r["threads"] > 1 else ""),
                str(r["num_envs"]),
                f"{r['state_user_steps_per_s']:,.0f}",
                "",
                f"{100 * r['state_user_steps_per_s'] / r['write_user_steps_per_s']:.0f}% / 100%",
                f"{r['state_bytes_per_user_step']:,} B read-modify-written per user-step",
            )
        )
        rows.append(
            (
                "step core: + 2 dots with a random item" + (f", {r['threads']} threads" if r["threads"] > 1 else ""),
                str(r["num_envs"]),
                f"{r['core_user_steps_per_s']:,.0f}",
                "",
                f"{100 * r['core_user_steps_per_s'] / r['write_user_steps_per_s']:.0f}% / "
                f"{100 * r['core_user_steps_per_s'] / r['state_user_steps_per_s']:.0f}%",
                "not a roofline: the state roofline plus the step's two 384-d dot products",
            )
        )
    for sd in sardine or []:
        rows.append(
            (
                f"SARDINE {sd['env_id'].split('/')[1]}",
                "1",
                f"{sd['steps_per_s']:,.0f}",
                f"{sd['steps_per_cpu_s']:,.0f}",
                "",
                f"{1e6 / sd['steps_per_s']:.1f} us/step (slate {sd['slate_size']}, sardine-rec {sd['version']})",
            )
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print()
    for r in [header, tuple("-" * w for w in widths), *rows]:
        print(
            "  ".join([f"{r[0]:<{widths[0]}}", *(f"{c:>{w}}" for c, w in zip(r[1:5], widths[1:5], strict=True)), r[5]])
        )
    if compile_times:
        cold, cached = compile_times["cold"], compile_times["cached"]
        print(
            f"\nkernel compile (first reset + step in a fresh process): {cold['first_reset_and_step_s']:.1f} s with an "
            f"empty numba cache, {cached['first_reset_and_step_s']:.2f} s from the cache it left"
        )
    if encode:
        print(
            f"\nencoding {encode['num_items']} items cold ({encode['model']}, {encode['device']}): "
            f"{encode['items_per_s']:,.0f} items/s ({encode['encode_s']:.2f} s, {encode['items_per_cpu_s']:,.0f} items per CPU-s; "
            f"model load {encode['model_load_s']:.2f} s); "
            f"rebuild from cache: {encode['build_from_cache_s'] * 1000:.0f} ms"
        )
    targets = _targets(vector, roofline, single, sardine)
    print()
    for name, t in targets.items():
        reached = "not measured" if t["reached"] is None else f"{t['reached']:,.2f}"
        print(f"target {name}: >= {t['target']:g} -> {reached} ({'met' if t['met'] else 'NOT met'})")

    result = {
        "provenance": stamp,
        "machine": info,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "single": single,
        "vector": vector,
        "roofline": roofline,
        "compile": compile_times,
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
