"""Fidelity of AdvRec-MovieLens-v1: does the calibrated simulator behave like the ratings it came from?

Protocol, on a by-user split (``--test-fraction`` of the users held out, ``--split-seed``); the items'
appeal, quality and popularity prior and every baseline are fitted on the training users only:

1. **Held-out ranking.** Each held-out user's ratings, in time order, are cut at ``--fold-fraction``:
   the first part is their history (the simulator folds their interest in from it with the items
   frozen; BPR-MF folds their factors in the same way; item-kNN reads it), the rest is scored. AUC
   per user of the held-out likes (rating >= 4) against every item the user never rated, averaged
   over users; and a "rated" AUC of held-out likes against held-out non-likes (taste among what they
   chose to watch). Rows: the simulator's click logits, popularity (training users' rating counts),
   item-kNN and BPR-MF.
2. **Simulated clicks.** The env (``split="train"``) run under a uniform random policy and a popularity
   policy: the Gini coefficient and top-10% share of the clicks per item, against the training users'
   real rating and like counts; the correlation of each item's simulated click rate under uniform
   exposure with its real rating count and mean rating.
3. **Per-user like rate.** The share of a user's ratings that are likes, against the simulator's mean
   first-step click probability over the same items (training users: their fit; held-out users: the
   held-out part, scored after the fold-in).

``--tune`` first picks the simulator's user L2 weight and BPR-MF's L2 weight by the same AUC on a
validation split of the training users (the held-out users are never looked at). Prints the tables
and writes ``benchmarks/results/fidelity.json``::

    python benchmarks/fidelity.py --tune                 # the synthetic full-size set (generated, seed 0)
    python benchmarks/fidelity.py --tune --path ml-100k  # the real set, the same protocol
    python benchmarks/fidelity.py --quick --out /tmp/f.json   # the pipeline in CI size
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "fidelity.json"
L2_USER_GRID = (10.0, 30.0, 100.0)
BPR_L2_GRID = (1e-3, 1e-2, 3e-2, 1e-1)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--path", default=None, help="an ml-100k folder (default: the synthetic set, generated with seed 0)")
    p.add_argument("--test-fraction", type=float, default=0.2, help="share of users held out")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the by-user split")
    p.add_argument(
        "--fold-fraction", type=float, default=0.5, help="share of a held-out user's ratings used as history"
    )
    p.add_argument("--env-steps", type=int, default=100_000, help="env steps per policy for the simulated clicks")
    p.add_argument("--num-envs", type=int, default=100, help="users simulated together")
    p.add_argument(
        "--tune", action="store_true", help="pick the L2 weights on a validation split of the training users"
    )
    p.add_argument("--quick", action="store_true", help="the pipeline in CI size (few steps and epochs, no tuning)")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--cache-dir", default=None, help="embedding and calibration cache (default: $ADVREC_CACHE_DIR)")
    p.add_argument("--out", default=str(RESULTS), help="the JSON file to write")
    args = p.parse_args(argv)
    if args.quick:
        args.env_steps, args.tune = min(args.env_steps, 5000), False
    return args


def synthetic_path(cache_dir: str | None) -> Path:
    """The synthetic full-size set (seed 0), generated once into the cache folder."""
    from advrec_gym.cache import default_cache_dir
    from advrec_gym.movielens_synthetic import generate_movielens

    path = (Path(cache_dir) if cache_dir else default_cache_dir()) / "ml-100k-synthetic-seed0"
    if not (path / "u.data").is_file():
        generate_movielens(path, 0, overwrite=True)
    return path


# ---------------------------------------------------------------------------------------------- protocol
@dataclasses.dataclass(frozen=True, eq=False)
class Heldout:
    """The held-out users' ratings cut into history and scored part (bool matrices, users x items)."""

    user_ids: np.ndarray
    history_liked: np.ndarray
    history_rated: np.ndarray
    scored_liked: np.ndarray
    scored_rated: np.ndarray
    never_rated: np.ndarray


def cut_history(data, users: np.ndarray, fold_fraction: float, like_threshold: int = 4) -> Heldout:
    """Each user's ratings in time order: the first ``ceil(fold_fraction * n)`` are history, the rest scored."""
    shape = (len(users), data.num_items)
    h_liked, h_rated, s_liked, s_rated = (np.zeros(shape, dtype=bool) for _ in range(4))
    index = {int(u): k for k, u in enumerate(users)}
    keep = np.flatnonzero(np.isin(data.users, users))  # data is sorted by user, then time
    u, rows, likes = data.users[keep], data.rows[keep], data.ratings[keep] >= like_threshold
    starts = np.flatnonzero(np.concatenate([[True], u[1:] != u[:-1]]))
    ends = np.concatenate([starts[1:], [u.size]])
    for a, b in zip(starts, ends, strict=True):
        k, cut = index[int(u[a])], a + int(np.ceil(fold_fraction * (b - a)))
        h_rated[k, rows[a:cut]], h_liked[k, rows[a:cut]] = True, likes[a:cut]
        s_rated[k, rows[cut:b]], s_liked[k, rows[cut:b]] = True, likes[cut:b]
    return Heldout(np.asarray(users), h_liked, h_rated, s_liked, s_rated, ~(h_rated | s_rated))


def ranking_rows(scores: dict[str, np.ndarray], heldout: Heldout) -> list[dict]:
    """AUC rows: held-out likes vs never-rated items, and vs held-out non-likes."""
    from benchmarks.fidelity_baselines import per_user_auc

    rows = []
    disliked = heldout.scored_rated & ~heldout.scored_liked
    for name, s in scores.items():
        auc, n = per_user_auc(s, heldout.scored_liked, heldout.never_rated)
        rated_auc, n_rated = per_user_auc(s, heldout.scored_liked, disliked)
        rows.append({"model": name, "auc": auc, "users": n, "rated_auc": rated_auc, "rated_users": n_rated})
    return rows


def score_models(data, catalogue, train_ids, heldout: Heldout, config, bpr, choice, *, fitted=None) -> dict:
    """Score matrices (held-out users x items) of the simulator and the baselines."""
    from advrec_gym.calibration import click_logits, fit_users, fold_in, like_matrix
    from benchmarks.fidelity_baselines import bpr_fit, bpr_fold_in, item_knn_scores

    emb = catalogue.user_embeddings
    liked, rated = like_matrix(data, train_ids, config.like_threshold)
    if fitted is None:
        fitted = fit_users(liked, rated, emb, user_ids=train_ids, config=config, choice=choice)
    folded = fold_in(
        heldout.history_liked,
        heldout.history_rated,
        emb,
        fitted,
        user_ids=heldout.user_ids,
        config=config,
        choice=choice,
    )
    model, _ = bpr_fit(liked, bpr)
    return {
        "simulator (fold-in)": click_logits(folded.interests, emb, fitted.appeal, choice),
        "popularity": np.tile(rated.sum(axis=0).astype(np.float64), (len(heldout.user_ids), 1)),
        "item-kNN": item_knn_scores(liked, heldout.history_liked),
        "BPR-MF (fold-in)": model.scores(bpr_fold_in(heldout.history_liked, model, bpr)),
    }, folded


def tune(data, catalogue, train_ids, args, config, bpr, choice) -> tuple[object, object, dict]:
    """Pick the simulator's ``l2_user`` and BPR's ``l2`` by AUC on a validation split of the training users."""
    from advrec_gym.calibration import click_logits, fit_users, fold_in, like_matrix
    from advrec_gym.movielens import split_users
    from benchmarks.fidelity_baselines import bpr_fit, bpr_fold_in, per_user_auc

    inner, val = split_users(train_ids, 0.2, args.split_seed + 1)
    heldout = cut_history(data, val, args.fold_fraction, config.like_threshold)
    liked, rated = like_matrix(data, inner, config.like_threshold)
    emb = catalogue.user_embeddings
    sim, bpr_rows = {}, {}
    for l2 in L2_USER_GRID:
        c = dataclasses.replace(config, l2_user=l2)
        fitted = fit_users(liked, rated, emb, user_ids=inner, config=c, choice=choice)
        folded = fold_in(
            heldout.history_liked, heldout.history_rated, emb, fitted, user_ids=val, config=c, choice=choice
        )
        sim[l2] = per_user_auc(
            click_logits(folded.interests, emb, fitted.appeal, choice), heldout.scored_liked, heldout.never_rated
        )[0]
    for l2 in BPR_L2_GRID:
        b = dataclasses.replace(bpr, l2=l2)
        model, _ = bpr_fit(liked, b)
        bpr_rows[l2] = per_user_auc(
            model.scores(bpr_fold_in(heldout.history_liked, model, b)), heldout.scored_liked, heldout.never_rated
        )[0]
    best_sim, best_bpr = max(sim, key=sim.get), max(bpr_rows, key=bpr_rows.get)
    report = {
        "validation_users": int(len(val)),
        "simulator_l2_user": {str(k): v for k, v in sim.items()},
        "bpr_l2": {str(k): v for k, v in bpr_rows.items()},
        "chosen": {"l2_user": best_sim, "bpr_l2": best_bpr},
    }
    return dataclasses.replace(config, l2_user=best_sim), dataclasses.replace(bpr, l2=best_bpr), report


# ---------------------------------------------------------------------------------------------- simulation
def simulated_clicks(venv, policy, steps: int, seed: int) -> dict:
    """Run ``venv`` for ``steps`` slot-steps under ``policy``; per-item shows and clicks, per-episode CTRs."""
    n_items, n = venv.unwrapped.catalogue.num_items, venv.num_envs
    shown = np.zeros(n_items, dtype=np.int64)
    clicks = np.zeros(n_items, dtype=np.int64)
    ctr, ep_clicks, ep_len = [], np.zeros(n), np.zeros(n)
    obs, _ = venv.reset(seed=seed)
    for _ in range(-(-steps // n)):
        actions, _ = policy.predict(obs, deterministic=False)
        actions = np.asarray(actions).reshape(n, -1)[:, 0]
        obs, _, terminated, truncated, info = venv.step(actions)
        np.add.at(shown, actions, 1)
        c = info["clicked_item"]
        np.add.at(clicks, c[c >= 0], 1)
        ep_clicks += c >= 0
        ep_len += 1
        for i in np.flatnonzero(terminated | truncated):
            ctr.append(ep_clicks[i] / ep_len[i])
            ep_clicks[i] = ep_len[i] = 0
    return {"shown": shown, "clicks": clicks, "episode_ctr": np.array(ctr)}


def quantiles(x: np.ndarray) -> dict:
    qs = np.quantile(np.asarray(x, dtype=np.float64), [0.1, 0.25, 0.5, 0.75, 0.9]) if len(x) else [np.nan] * 5
    return dict(zip(("p10", "p25", "p50", "p75", "p90"), (float(q) for q in qs), strict=True)) | {
        "mean": float(np.mean(x)) if len(x) else float("nan")
    }


def like_rates(interests, rated_mask, liked_mask, emb, appeal, choice) -> dict:
    """Real like share per user vs the simulator's mean click probability over the same items."""
    from advrec_gym.calibration import click_logits
    from benchmarks.fidelity_baselines import pearson

    p = 1.0 / (1.0 + np.exp(-click_logits(interests, emb, appeal, choice)))
    keep = rated_mask.sum(axis=1) > 0
    real = liked_mask.sum(axis=1)[keep] / rated_mask.sum(axis=1)[keep]
    sim = (p * rated_mask).sum(axis=1)[keep] / rated_mask.sum(axis=1)[keep]
    return {
        "users": int(keep.sum()),
        "real": quantiles(real),
        "simulated": quantiles(sim),
        "per_user_pearson": pearson(real, sim),
        "uniform_exposure_ctr": quantiles(p[keep].mean(axis=1)),
    }


def embedding_geometry(catalogue, data) -> dict:
    """How the item embeddings separate films by genre: mean cosines within and across genres.

    ``same_primary`` / ``cross_primary``: pairs with the same / another first genre; ``share_a_genre`` /
    ``disjoint_genres``: pairs with at least one / no genre in common; ``nn_shares_a_genre``: share of
    films whose nearest neighbour (cosine) has a genre in common with them; ``cosine_vs_genre_jaccard``:
    Pearson correlation over pairs of the cosine with the genres' Jaccard overlap.
    """
    from advrec_gym.movielens import GENRES
    from benchmarks.fidelity_baselines import pearson

    emb = catalogue.embeddings.astype(np.float64)
    cos = emb @ emb.T
    g = np.array([[name in genres for name in GENRES] for genres in data.genres], dtype=np.float64)
    overlap = g @ g.T
    jaccard = overlap / np.maximum(g.sum(1)[:, None] + g.sum(1)[None, :] - overlap, 1.0)
    primary = np.array(data.topics)
    upper = np.triu_indices(len(emb), 1)
    c, same, shared, jac = cos[upper], (primary[:, None] == primary[None, :])[upper], overlap[upper] > 0, jaccard[upper]
    np.fill_diagonal(cos, -np.inf)
    nn = cos.argmax(axis=1)
    return {
        "mean_cosine": float(c.mean()),
        "same_primary": float(c[same].mean()),
        "cross_primary": float(c[~same].mean()),
        "share_a_genre": float(c[shared].mean()),
        "disjoint_genres": float(c[~shared].mean()),
        "nn_shares_a_genre": float(np.mean(overlap[np.arange(len(emb)), nn] > 0)),
        "cosine_vs_genre_jaccard": pearson(c, jac),
        "example_text": catalogue.texts[0],
    }


# ---------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    import gymnasium as gym
    import torch

    import advrec_gym  # noqa: F401  (registers AdvRec-MovieLens-v1)
    from advrec_gym import Catalogue, LogitChoice
    from advrec_gym._io import atomic_write_json
    from advrec_gym.calibration import CalibrationConfig, calibrate, like_matrix
    from advrec_gym.movielens import load_movielens, split_users
    from agents.baselines import PopularityPolicy, RandomPolicy
    from benchmarks.fidelity_baselines import BPRConfig, gini, pearson, spearman, top_share
    from benchmarks.provenance import provenance

    torch.set_num_threads(args.threads)
    timings, start = {}, time.perf_counter()
    path = Path(args.path) if args.path else synthetic_path(args.cache_dir)
    data = load_movielens(path)
    catalogue = Catalogue.from_movielens(
        data, test_fraction=args.test_fraction, split_seed=args.split_seed, cache_dir=args.cache_dir
    )
    timings["load_and_encode_s"] = time.perf_counter() - start
    geometry = embedding_geometry(catalogue, data)
    choice = LogitChoice()
    config = CalibrationConfig(steps=60, fold_in_steps=40) if args.quick else CalibrationConfig()
    bpr = BPRConfig(epochs=5, fold_in_epochs=5) if args.quick else BPRConfig()
    train_ids, test_ids = split_users(data.user_ids(), args.test_fraction, args.split_seed)
    tuning = None
    if args.tune:
        t = time.perf_counter()
        config, bpr, tuning = tune(data, catalogue, train_ids, args, config, bpr, choice)
        timings["tuning_s"] = time.perf_counter() - t

    t = time.perf_counter()
    cal = calibrate(
        data,
        catalogue.user_embeddings,
        test_fraction=args.test_fraction,
        split_seed=args.split_seed,
        config=config,
        choice=choice,
        cache_dir=args.cache_dir,
    )
    timings["calibration_s"] = time.perf_counter() - t
    heldout = cut_history(data, test_ids, args.fold_fraction, config.like_threshold)
    t = time.perf_counter()
    scores, folded = score_models(data, catalogue, train_ids, heldout, config, bpr, choice, fitted=cal.train)
    ranking = ranking_rows(scores, heldout)
    timings["ranking_s"] = time.perf_counter() - t

    # Simulated clicks in the env over the training users, against their real counts.
    t = time.perf_counter()
    venv = gym.make_vec(
        "AdvRec-MovieLens-v1", num_envs=args.num_envs, vectorization_mode="vector_entry_point", path=str(path),
        test_fraction=args.test_fraction, split_seed=args.split_seed, calibration=config, cache_dir=args.cache_dir,
    )  # fmt: skip
    sim_catalogue = venv.unwrapped.catalogue
    policies = {
        "uniform": RandomPolicy(sim_catalogue.num_items, seed=1),
        "popularity": PopularityPolicy(sim_catalogue, seed=2),
    }
    runs = {name: simulated_clicks(venv, pol, args.env_steps, seed=10) for name, pol in policies.items()}
    venv.close()
    timings["simulation_s"] = time.perf_counter() - t
    liked, rated = like_matrix(data, train_ids, config.like_threshold)
    real_counts, real_likes = rated.sum(axis=0), liked.sum(axis=0)
    mean_rating = np.bincount(
        data.rows[np.isin(data.users, train_ids)],
        weights=data.ratings[np.isin(data.users, train_ids)],
        minlength=data.num_items,
    )
    mean_rating = mean_rating / np.maximum(real_counts, 1)
    rated_items = real_counts > 0
    uniform = runs["uniform"]
    click_rate = uniform["clicks"] / np.maximum(uniform["shown"], 1)
    distribution = [
        {"counts": "real ratings (training users)", "gini": gini(real_counts), "top10_share": top_share(real_counts)},
        {"counts": "real likes (training users)", "gini": gini(real_likes), "top10_share": top_share(real_likes)},
    ] + [
        {"counts": f"simulated clicks, {name} policy", "gini": gini(r["clicks"]), "top10_share": top_share(r["clicks"]),
         "ctr": float(r["clicks"].sum() / max(r["shown"].sum(), 1)), "episode_ctr": quantiles(r["episode_ctr"])}
        for name, r in runs.items()
    ]  # fmt: skip
    correlation = {
        "items": int(rated_items.sum()),
        "click_rate_vs_log_rating_count": {
            "pearson": pearson(click_rate[rated_items], np.log(real_counts[rated_items])),
            "spearman": spearman(click_rate[rated_items], real_counts[rated_items]),
        },
        "click_rate_vs_mean_rating": {
            "pearson": pearson(click_rate[rated_items], mean_rating[rated_items]),
            "spearman": spearman(click_rate[rated_items], mean_rating[rated_items]),
        },
    }
    emb = catalogue.user_embeddings
    rates = {
        "train_users": like_rates(cal.train.interests, rated, liked, emb, cal.appeal, choice),
        "heldout_users_scored_part": like_rates(folded.interests, heldout.scored_rated, heldout.scored_liked, emb, cal.appeal, choice),
    }  # fmt: skip
    timings["total_s"] = time.perf_counter() - start
    result = {
        "provenance": provenance(["python", "benchmarks/fidelity.py", *(argv if argv is not None else sys.argv[1:])]),
        "data": data.summary() | {"synthetic": args.path is None},
        "protocol": {
            "test_fraction": args.test_fraction, "split_seed": args.split_seed, "fold_fraction": args.fold_fraction,
            "train_users": int(len(train_ids)), "test_users": int(len(test_ids)), "env_steps_per_policy": args.env_steps,
            "calibration": dataclasses.asdict(config), "bpr": dataclasses.asdict(bpr), "quick": args.quick,
        },
        "tuning": tuning,
        "embedding_geometry": geometry,
        "ranking": ranking,
        "click_distribution": distribution,
        "item_correlation": correlation,
        "like_rate": rates,
        "timings": timings,
        "threads": args.threads,
    }  # fmt: skip
    print_tables(result)
    atomic_write_json(args.out, result)
    print(f"\nwrote {args.out}")
    return result


def print_tables(r: dict) -> None:
    d, p = r["data"], r["protocol"]
    print(
        f"{'synthetic' if d['synthetic'] else 'ml-100k-format'} data: {d['catalogue_rows']} items, {d['users']} users, "
        f"{d['ratings']} ratings; by-user split {p['train_users']} train / {p['test_users']} held out "
        f"(seed {p['split_seed']}); held-out history {p['fold_fraction']:.0%} of each user's ratings in time order"
    )
    g = r["embedding_geometry"]
    print(
        f"item embeddings: mean cosine {g['mean_cosine']:.3f}; same first genre {g['same_primary']:.3f} vs "
        f"another {g['cross_primary']:.3f}; a genre in common {g['share_a_genre']:.3f} vs none "
        f"{g['disjoint_genres']:.3f}; nearest neighbour shares a genre {g['nn_shares_a_genre']:.0%}"
    )
    if r["tuning"]:
        print(f"tuned on {r['tuning']['validation_users']} validation users: {r['tuning']['chosen']}")
    print(f"\n{'model':<22}{'AUC':>8}{'users':>7}{'rated AUC':>11}")
    for row in r["ranking"]:
        print(f"{row['model']:<22}{row['auc']:>8.4f}{row['users']:>7}{row['rated_auc']:>11.4f}")
    print(f"\n{'counts per item':<36}{'Gini':>7}{'top 10%':>9}{'CTR':>7}")
    for row in r["click_distribution"]:
        ctr = f"{row['ctr']:>7.3f}" if "ctr" in row else ""
        print(f"{row['counts']:<36}{row['gini']:>7.3f}{row['top10_share']:>9.3f}{ctr}")
    c = r["item_correlation"]
    print(
        f"\nsimulated click rate (uniform exposure) vs real, {c['items']} items: "
        f"log rating count r = {c['click_rate_vs_log_rating_count']['pearson']:.3f} "
        f"(Spearman {c['click_rate_vs_log_rating_count']['spearman']:.3f}); "
        f"mean rating r = {c['click_rate_vs_mean_rating']['pearson']:.3f} "
        f"(Spearman {c['click_rate_vs_mean_rating']['spearman']:.3f})"
    )
    print(f"\n{'like rate per user':<30}{'p10':>7}{'p50':>7}{'p90':>7}{'mean':>7}  per-user r")
    for name, lr in r["like_rate"].items():
        for kind in ("real", "simulated"):
            q = lr[kind]
            tail = f"  {lr['per_user_pearson']:.3f}" if kind == "simulated" else ""
            print(f"{name + ', ' + kind:<30}{q['p10']:>7.3f}{q['p50']:>7.3f}{q['p90']:>7.3f}{q['mean']:>7.3f}{tail}")
    print("\ntimings (s): " + ", ".join(f"{k[:-2]} {v:.1f}" for k, v in r["timings"].items()))


if __name__ == "__main__":
    main()
