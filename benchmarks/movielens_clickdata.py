"""Time and peak memory of building supervised click data from 100k MovieLens ratings.

``agents.supervised.data.from_movielens_ratings`` with 4 negatives per rating (500k examples) on the
synthetic full-size set (or ``--path`` to a real one), for AdvRec-v0's observation (what the click
model reads) and AdvRec-v1's. Each measurement runs in a fresh process: the catalogue is loaded from
the embedding cache and the compiled replay warmed up first, then the build is timed, and its peak
memory is taken two ways: the peak of traced allocations during one build (``tracemalloc``, numpy's
buffers included; an extra, untimed build) and the growth of the process's peak resident set size
over the builds (from just before the first one; the compiled replay's code included). Prints a table and writes ``benchmarks/results/movielens_clickdata.json``::

    python benchmarks/movielens_clickdata.py
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "movielens_clickdata.json"


def worker(path: str, observation: str, negatives: int, cache_dir: str | None) -> dict:
    import resource
    import tracemalloc

    import numpy as np

    from advrec_gym import Catalogue
    from agents.supervised.data import from_movielens_ratings

    catalogue = Catalogue.from_movielens(path, cache_dir=cache_dir)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    from_movielens_ratings(path, catalogue, negatives=negatives, observation=observation)  # compile, warm caches
    times = []
    for _ in range(2):
        start = time.perf_counter()
        data = from_movielens_ratings(path, catalogue, negatives=negatives, observation=observation, seed=1)
        times.append(time.perf_counter() - start)
        del data
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    data = from_movielens_ratings(path, catalogue, negatives=negatives, observation=observation, seed=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "observation": observation,
        "negatives": negatives,
        "examples": len(data),
        "ratings": int(data.observations.base.shape[0]),
        "obs_dim": data.obs_dim,
        "seconds": float(np.median(times)),
        "seconds_runs": times,
        "peak_traced_mib": peak / 2**20,
        "peak_rss_increase_mib": max(rss_after - rss_before, 0) / 1024,  # ru_maxrss is in KiB on Linux
        "held_mib": (data.observations.nbytes + data.items.nbytes * 4) / 2**20,
    }


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--path", default=None, help="an ml-100k folder (default: the synthetic set, seed 0)")
    p.add_argument("--negatives", type=int, default=4)
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--out", default=str(RESULTS))
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.path, args.worker, args.negatives, args.cache_dir)))
        return {}
    from advrec_gym._io import atomic_write_json
    from benchmarks.fidelity import synthetic_path
    from benchmarks.provenance import provenance

    path = args.path or str(synthetic_path(args.cache_dir))
    load = os.getloadavg()[0]
    rows = []
    for observation in ("v0", "v1"):
        cmd = [sys.executable, __file__, "--worker", observation, "--path", path, "--negatives", str(args.negatives)]
        if args.cache_dir:
            cmd += ["--cache-dir", args.cache_dir]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"click data from {path}: {rows[0]['ratings']:,} ratings, {args.negatives} negatives each")
    print(
        f"{'observation':<12}{'examples':>10}{'obs dim':>9}{'seconds':>9}{'peak traced MiB':>17}{'peak RSS +MiB':>15}"
    )
    for r in rows:
        print(
            f"{r['observation']:<12}{r['examples']:>10,}{r['obs_dim']:>9}{r['seconds']:>9.2f}"
            f"{r['peak_traced_mib']:>17.0f}{r['peak_rss_increase_mib']:>15.0f}"
        )
    result = {
        "provenance": provenance(["python", "benchmarks/movielens_clickdata.py", *(argv or sys.argv[1:])]),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": load,
        "rows": rows,
        "targets": {"seconds": 10, "peak_mib": 1024},
    }
    atomic_write_json(args.out, result)
    print(f"\nwrote {args.out}")
    return result


if __name__ == "__main__":
    main()
