"""A heavier white-box attack written apart from the suite: does the suite's worst case hold under it?

    python benchmarks/heavier_attack.py --run RUN_DIR                 # the committed result
    python benchmarks/heavier_attack.py --run RUN_DIR --quick         # a smoke run, not for the record

A benchmark's worst case is only an upper bound on the true one: it holds if an attack it does not
contain cannot push the return much lower. :class:`HeavyPGD` shares no code with
:mod:`advrec_gym.attacks` beyond the base class's bookkeeping (budget, slice, bounds, seed): it reads the
recommender through SB3's policy interface only (``policy.get_distribution``, ``policy.predict_values``)
and runs momentum sign-gradient descent with APGD's step-size rule (Croce and Hein 2020: start at
2 eps, halve the step of an observation, and go back to its best point, at every checkpoint where
fewer than 3 of 4 steps improved it), ``--steps`` iterations from ``--restarts`` starts (the clean point,
then uniform draws in the ball), the best iterate of every observation kept. Three objectives, one row
each, all minimised:

* ``heavy-mass``: the log of the attacked policy's probability mass on the clean policy's ``--top-k``
  most likely items;
* ``heavy-kl``: minus KL(clean policy || attacked policy);
* ``heavy-value``: the recommender's own critic ``V(o + delta)`` (what PPO believes the rest of the
  episode is worth).

Two stages under ``--out``, each its own JSON (a rerun resumes; ``--force`` recomputes; ``--stage``
runs one, so both can run side by side): ``suite.json`` (clean, then every attack of the suite but the
learned adversary, :func:`agents.training.report.evaluate_recommender`) and ``heavy.json`` (the three
rows above with the same evaluator), on the same evaluation users (``EVAL_SEED``, ``--episodes``
episodes, sampled actions, common random numbers). ``report.md`` compares the worst cases: the suite
holds if the heavy attacks' worst is not more than 10% below its own.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from advrec_gym.attacks import Attacker
from benchmarks.runs import check_run, run_parser
from benchmarks.seeds import EVAL_SEED  # the reported users

ROOT = Path(__file__).resolve().parent
OBJECTIVES = ("mass", "kl", "value")
HOLD_TOLERANCE = 0.10  # the heavy worst case may be this much below the suite's and the suite still holds


def _log_probs(policy, obs: torch.Tensor) -> torch.Tensor:
    """(n, num_items) log-probabilities of the recommender's categorical action (summed over slate slots)."""
    dist = policy.get_distribution(obs).distribution
    parts = dist if isinstance(dist, list) else [dist]
    if any(p.logits.shape != parts[0].logits.shape for p in parts):
        raise ValueError("HeavyPGD needs a categorical action (or slate slots over one catalogue).")
    return torch.stack([torch.log_softmax(p.logits, dim=-1) for p in parts]).logsumexp(0) - np.log(len(parts))


class HeavyPGD(Attacker):
    """Momentum sign-gradient descent with APGD's step rule and random restarts (see the module doc).

    Args:
        model: the recommender (an SB3 model, or anything with ``.policy``).
        objective: ``"mass"``, ``"kl"`` or ``"value"``.
        budget, eps, norm, embedding_slice, clip_range, seed: as :class:`~advrec_gym.attacks.Attacker`
            (L-inf only).
        steps: iterations per start.
        restarts: starts: the clean point, then ``restarts - 1`` uniform draws in the ball.
        top_k: the clean top-k of the ``"mass"`` objective.
    """

    name = "heavy"
    white_box = True

    def __init__(self, model, objective: str, budget=None, *, steps=100, restarts=5, top_k=10, **kwargs):
        super().__init__(budget, **kwargs)
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}.")
        if self.budget.norm != "inf":
            raise ValueError(f"HeavyPGD attacks an L-inf ball, got norm {self.budget.norm!r}.")
        if steps < 1 or restarts < 1 or top_k < 1:
            raise ValueError(f"steps, restarts and top_k must be >= 1, got {steps}, {restarts}, {top_k}.")
        self.policy = model.policy
        self.objective, self.steps, self.restarts, self.top_k = objective, steps, restarts, top_k
        # APGD's checkpoints: the gaps shrink from 22% of the budget to 6%
        marks, p = [0.0, 0.22], [0.0, 0.22]
        while marks[-1] < 1.0:
            p.append(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06))
            marks.append(p[-1])
        self.checkpoints = sorted({int(np.ceil(m * steps)) for m in marks if 0 < m < 1.0})

    def __repr__(self) -> str:
        return f"HeavyPGD({self.objective}, eps={self.budget.eps}, steps={self.steps}, restarts={self.restarts})"

    def loss(self, obs: torch.Tensor, sl: slice, adv: torch.Tensor, clean_logp: torch.Tensor) -> torch.Tensor:
        """The per-observation objective (lower is a stronger attack) at the attacked slice ``adv``."""
        full = torch.cat([obs[:, : sl.start], adv, obs[:, sl.stop :]], dim=1)
        if self.objective == "value":
            return self.policy.predict_values(full).squeeze(-1)
        logp = _log_probs(self.policy, full)
        if self.objective == "mass":
            top = clean_logp.topk(min(self.top_k, clean_logp.shape[1]), dim=1).indices
            return logp.gather(1, top).logsumexp(1)
        return -(clean_logp.exp() * (clean_logp - logp)).sum(1)

    def _perturb_slice(self, obs: np.ndarray, sl: slice) -> np.ndarray:
        x = torch.as_tensor(obs, dtype=torch.float32, device=self.policy.device)
        clean = x[:, sl]
        low, high = self._bounds(clean)
        eps = float(self.budget.eps)
        project = lambda a: torch.minimum(torch.maximum(a, clean - eps), clean + eps).clamp(low, high)  # noqa: E731
        with torch.no_grad():
            clean_logp = _log_probs(self.policy, x)
            best, best_loss = clean.clone(), self.loss(x, sl, clean, clean_logp)
        for start in range(self.restarts):
            noise = self.rng.uniform(-eps, eps, size=clean.shape) if start else np.zeros(clean.shape)
            best, best_loss = self._descend(x, sl, project(clean + torch.as_tensor(noise, dtype=clean.dtype)),
                                            clean_logp, project, best, best_loss)  # fmt: skip
        return best.detach().cpu().numpy()

    def _descend(self, x, sl, adv, clean_logp, project, best, best_loss):
        n, eps = x.shape[0], float(self.budget.eps)
        step = torch.full((n, 1), 2.0 * eps)
        loss, grad = self._loss_and_grad(x, sl, adv, clean_logp)
        run_best, run_loss = adv.detach().clone(), loss.detach().clone()
        previous, improved, last_mark = adv.detach(), torch.zeros(n), 0
        reduced_at_last = torch.ones(n, dtype=torch.bool)
        loss_at_last = run_loss.clone()
        for it in range(1, self.steps + 1):
            z = project(adv - step * grad.sign())
            moved = project(adv + 0.75 * (z - adv) + 0.25 * (adv - previous)) if it > 1 else z
            previous, adv = adv.detach(), moved.detach()
            loss, grad = self._loss_and_grad(x, sl, adv, clean_logp)
            better = loss < run_loss
            improved += better.float()
            run_best[better], run_loss[better] = adv[better], loss[better]
            if it in self.checkpoints:
                stalled = improved < 0.75 * (it - last_mark)
                stalled |= ~reduced_at_last & (run_loss >= loss_at_last)
                step[stalled] /= 2.0
                adv = torch.where(stalled[:, None], run_best, adv)
                if stalled.any():
                    loss, grad = self._loss_and_grad(x, sl, adv, clean_logp)
                reduced_at_last, loss_at_last, improved, last_mark = stalled, run_loss.clone(), improved * 0, it
        keep = run_loss < best_loss
        return torch.where(keep[:, None], run_best, best), torch.where(keep, run_loss, best_loss)

    def _loss_and_grad(self, x, sl, adv, clean_logp):
        adv = adv.detach().requires_grad_(True)
        with torch.enable_grad():
            loss = self.loss(x, sl, adv, clean_logp)
            (grad,) = torch.autograd.grad(loss.sum(), adv)
        return loss.detach(), grad


def _stamp(command: list[str]) -> dict:
    from benchmarks.provenance import provenance

    return provenance(["python", "benchmarks/heavier_attack.py", *command])


def suite(args, log) -> dict:
    from agents.training.config import EVAL_ATTACKS
    from agents.training.load import load_players
    from agents.training.report import evaluate_recommender

    loaded = load_players(args.run, eps=args.eps, norm="inf")
    attacks = args.suite_attacks or [a for a in EVAL_ATTACKS if a != "learned"]
    rows = []
    for name in attacks:  # one attack at a time, so the log shows progress
        started = time.perf_counter()
        cell = evaluate_recommender(
            loaded.recommender, loaded.config, [name], episodes=args.episodes, seed=EVAL_SEED, greedy=not rows
        )
        rows += cell if not rows else cell[1:]
        log(f"suite {name}: {cell[-1]['return_mean']:.2f} ({time.perf_counter() - started:.0f} s)")
    return {"attacks": attacks, "rows": rows}


def heavy(args, log) -> dict:
    from advrec_gym.attacks import evaluate_attack
    from advrec_gym.attacks.base import env_item_embeddings
    from agents.training.load import load_players
    from agents.training.players import budget_of, recommender_view

    loaded = load_players(args.run, eps=args.eps, norm="inf")
    model, config = loaded.recommender, loaded.config
    view = recommender_view(config, num_envs=min(config.num_envs, args.episodes), evaluation=True)
    rows = []
    for objective in OBJECTIVES:
        started = time.perf_counter()
        attacker = HeavyPGD(model, objective, budget_of(config), steps=args.steps, restarts=args.restarts,
                            top_k=args.top_k, seed=EVAL_SEED)  # fmt: skip
        attacker.bind(view.single_observation_space, view.unwrapped.embedding_slice, env_item_embeddings(view))
        report = evaluate_attack(view, model, attacker, episodes=args.episodes, seed=EVAL_SEED)
        rows.append({
            "attack": f"heavy-{objective}", "return_mean": float(report.returns.mean()),
            "return_std": float(report.returns.std()), "episodes": int(report.returns.size),
            "returns": [float(r) for r in report.returns], "wall_s": round(time.perf_counter() - started, 1),
        })  # fmt: skip
        log(f"heavy-{objective}: {rows[-1]['return_mean']:.2f} ({rows[-1]['wall_s']:.0f} s)")
    return {"rows": rows}


def _worst(rows: list[dict]) -> dict:
    return min((r for r in rows if r["attack"] != "clean"), key=lambda r: r["return_mean"])


def report(suite_data: dict, heavy_data: dict, settings: dict) -> str:
    clean = suite_data["rows"][0]["return_mean"]
    s, h = _worst(suite_data["rows"]), _worst(heavy_data["rows"])
    se = lambda r: r["return_std"] / np.sqrt(r["episodes"])  # noqa: E731
    ratio = h["return_mean"] / s["return_mean"] if s["return_mean"] > 0 else float("nan")
    holds = h["return_mean"] >= (1.0 - HOLD_TOLERANCE) * s["return_mean"]
    lines = [
        f"Heavier attack check at L-inf eps {settings['eps']:g}: {settings['episodes']} episodes a row on the "
        f"evaluation users (seed {EVAL_SEED}), sampled actions; HeavyPGD {settings['steps']} steps x "
        f"{settings['restarts']} restarts (top-k {settings['top_k']}).",
        "",
        "| attack | return | +- SE | kept |",
        "|---|---:|---:|---:|",
    ]
    for r in suite_data["rows"] + heavy_data["rows"]:
        if r["attack"] == "clean" and r.get("actions") == "greedy":
            continue
        lines.append(f"| {r['attack']} | {r['return_mean']:.2f} | {se(r):.2f} | {r['return_mean'] / clean:.2f} |")
    lines += [
        "",
        f"Suite's worst: {s['attack']} {s['return_mean']:.2f} +- {se(s):.2f}; heavy worst: {h['attack']} "
        f"{h['return_mean']:.2f} +- {se(h):.2f} ({ratio:.2f}x the suite's). "
        + (
            f"**The suite holds** (the heavier attack is not more than {HOLD_TOLERANCE:.0%} below it)."
            if holds
            else f"**The suite does not hold**: the heavier attack is more than {HOLD_TOLERANCE:.0%} below it."
        ),
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = run_parser(__doc__, ROOT / "results" / "v1_heavier_attack", episodes=100)
    parser.add_argument("--steps", type=int, default=100, help="HeavyPGD iterations per start")
    parser.add_argument("--restarts", type=int, default=5, help="HeavyPGD starts per observation")
    parser.add_argument("--top-k", type=int, default=10, help="the clean top-k of the mass objective")
    parser.add_argument(
        "--suite-attacks", nargs="+", default=None, help="the suite's attacks (default: all but learned)"
    )
    parser.add_argument("--stage", action="append", choices=["suite", "heavy"], help="run only this stage (repeatable)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not for the record")
    parser.add_argument("--force", action="store_true", help="recompute the stages")
    args = parser.parse_args(argv)
    check_run(parser, args.run)
    if args.eps <= 0 or min(args.episodes, args.steps, args.restarts, args.top_k) < 1:
        parser.error("--eps must be > 0 and --episodes, --steps, --restarts, --top-k >= 1")
    if args.quick:
        args.episodes, args.steps, args.restarts = 8, 8, 2
        args.suite_attacks = args.suite_attacks or ["fgsm", "pgd-topk"]
        args.out = str(Path(args.out).with_name(Path(args.out).name + "_quick"))
    from agents.training.config import EVAL_ATTACKS

    bad = [a for a in args.suite_attacks or [] if a not in EVAL_ATTACKS or a == "learned"]
    if bad:
        parser.error(f"--suite-attacks {bad}: expected names from {[a for a in EVAL_ATTACKS if a != 'learned']}")
    torch.set_num_threads(1)
    out, log = Path(args.out), (lambda msg: print(msg, file=sys.stderr, flush=True))
    stamp = _stamp(sys.argv[1:] if argv is None else list(argv))
    settings = {
        "suite": {"eps": args.eps, "episodes": args.episodes, "run": args.run},
        "heavy": {"eps": args.eps, "episodes": args.episodes, "run": args.run, "steps": args.steps,
                  "restarts": args.restarts, "top_k": args.top_k},
    }  # fmt: skip

    def stage(kind: str, compute) -> dict | None:
        from advrec_gym._io import atomic_write_json

        path = out / f"{kind}.json"
        if path.exists() and not args.force:
            data = json.loads(path.read_text())
            stored = {k: data.get(k) for k in settings[kind]}
            if stored != settings[kind]:
                parser.error(f"{path} was computed with {stored}, not {settings[kind]}: rerun with --force")
            return data
        if args.stage and kind not in args.stage:
            return None
        data = {**settings[kind], **compute(), "stamp": stamp}
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, data)
        return data

    suite_data = stage("suite", lambda: suite(args, log))
    heavy_data = stage("heavy", lambda: heavy(args, log))
    if suite_data is None or heavy_data is None:
        log("one stage is still missing: no report yet")
        return 0
    text = report(suite_data, heavy_data, settings["heavy"])
    footer = "\n".join(f"`{d['stamp']['command']}` at {d['stamp']['commit']}" for d in (suite_data, heavy_data))
    (out / "report.md").write_text(text + "\n" + footer + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
