"""`python -m benchmarks uplift [--rows 20000] [--seed 0 1 2] [--threads N] [--json FILE]`: does ranking by the
estimated uplift target the customers a retention offer actually moves, better than ranking by churn risk?

1. insight.data.demo_campaign draws the demo with a past randomised retention campaign (`retention_offer`),
   whose planted effect differs by group (persuadables, sure things, lost causes, sleeping dogs it harms);
   truth.csv holds each customer's true uplift (P(churn | no offer) - P(churn | offer));
2. the customers are split in two halves (stratified by offer x churn); the churn model's features
   (insight.data.schema.clean_table and insight.data.features, as insight.models.recipe encodes them; never
   the offer, the targets or the id) are encoded with a map fitted on the training half;
3. on the training half: insight.uplift.select.select_learner chooses the uplift learner (T, X or DR) by its
   validation Qini coefficient and refits it; the churn model (insight.models.churn.fit_churn_model, the
   recipe's LightGBM) is fitted on the same customers' realised churn: the risk ranking;
4. on the held-out half, with the TRUE uplift (never seen by a model):
   - (a) the cumulative true uplift of the top k of a ranking, for every k; its gain over random targeting
     is the area between that curve and random's straight line (k x the mean true uplift); the share of the
     gain that ranking by the true uplift achieves, for the predicted uplift (must be >= 70 %) and for risk;
   - (b) true expected saves (the sum of the true uplift of those contacted) at the best budget: the k
     where the uplift ranking's saves peak, with the risk ranking at the same k; and each ranking at its own
     best k; and at the model's own budget (every customer with a positive estimated uplift). The uplift
     ranking must save >= 20 % more than the risk ranking;
   - the same at fixed budgets (`BUDGETS`: 10 % to 50 % of the customers contacted);
   - (c) the share of customers with a negative true uplift on each list;
   - Qini coefficients (insight.uplift.metrics.qini_coefficient on the realised outcomes) of the uplift,
     risk, true-uplift and random rankings.

The seconds of each step are printed with the machine's load average: measured, never asserted.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.seeds import run_seeds

GAIN_SHARE = 0.70
"""Must-show (a): the predicted uplift's ranking captures at least 70 % of the true uplift ranking's gain."""
SAVES_MARGIN = 0.20
"""Must-show (b): at the best budget, the uplift ranking saves at least 20 % more churners than the risk one."""
BUDGETS = (0.1, 0.2, 0.3, 0.5)
"""Fixed budgets (shares of the held-out customers contacted), beside the best budget."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=20_000, help="demo customers")
    parser.add_argument("--seed", type=int, nargs="+", default=[0], help="one or more seeds, one table each")
    parser.add_argument("--threads", type=int, default=1, help="LightGBM threads")
    parser.add_argument("--json", help="also write the figures to this JSON file")


def cumulative_true_uplift(score: np.ndarray, uplift: np.ndarray) -> np.ndarray:
    """Sum of the true uplift of the top k customers by `score` (highest first; ties in id order), k = 0..n."""
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    return np.concatenate([[0.0], np.cumsum(np.asarray(uplift, dtype=float)[order])])


def gain_over_random(curve: np.ndarray) -> float:
    """Area between a cumulative true uplift curve (k = 0..n) and random targeting's straight line."""
    k = np.arange(len(curve), dtype=float)
    return float(np.sum(curve - k * curve[-1] / k[-1]))


def top(score: np.ndarray, k: int) -> np.ndarray:
    """Positions of the top k customers by `score` (as cumulative_true_uplift orders them)."""
    return np.argsort(-np.asarray(score, dtype=float), kind="stable")[:k]


def ranking_figures(rankings: dict[str, np.ndarray], uplift: np.ndarray) -> dict[str, Any]:
    """(a), (b) and (c) of the module docstring for each ranking; `rankings` holds "uplift", "risk", "true"."""
    curves = {name: cumulative_true_uplift(s, uplift) for name, s in rankings.items()}
    gains = {name: gain_over_random(c) for name, c in curves.items()}
    best_k = int(np.argmax(curves["uplift"]))
    own_k = {name: int(np.argmax(c)) for name, c in curves.items()}
    model_k = int((rankings["uplift"] > 0).sum())
    negative = uplift < 0

    def list_facts(name: str, k: int) -> dict[str, float]:
        rows = top(rankings[name], k)
        return {"customers": k, "saves": float(curves[name][k]),
                "negative_share": float(negative[rows].mean()) if k else 0.0}

    return {
        "gain_over_random": gains,
        "gain_share": {name: gains[name] / gains["true"] for name in gains},
        "best_budget": {name: list_facts(name, best_k) for name in rankings},
        "own_best": {name: list_facts(name, own_k[name]) for name in rankings},
        "model_budget": {name: list_facts(name, model_k) for name in rankings},
        "fixed_budgets": {str(share): {name: list_facts(name, int(round(share * len(uplift)))) for name in rankings}
                          for share in BUDGETS},
        "random_saves_per_customer": float(uplift.mean()),
        "negative_share_everyone": float(negative.mean()),
    }


def encoded(customers: pd.DataFrame, train: np.ndarray) -> tuple[np.ndarray, list[str], list[int], np.ndarray]:
    """The churn model's feature matrix (map fitted on `train`), its names and categorical columns, and churn."""
    from insight.data.demo import demo_spec
    from insight.data.demo_campaign import TREATMENT
    from insight.data.features import encode, fit_feature_map
    from insight.data.schema import clean_table

    spec = demo_spec()
    table = clean_table(customers.drop(columns=TREATMENT), spec)
    fmap = fit_feature_map(table.frame, table.schema, fit_rows=train)
    X = encode(table.frame, fmap)
    return X, list(fmap.names), list(fmap.categorical_indices), table.frame[spec.target].to_numpy(dtype=float)


def uplift_benchmark(rows: int, seed: int, *, threads: int = 1) -> dict[str, Any]:
    """One table of `rows` customers drawn with `seed`: the figures of the module docstring."""
    from insight.config import ChurnConfig
    from insight.data.demo_campaign import TREATMENT, demo_campaign_data
    from insight.models.churn import fit_churn_model
    from insight.uplift.learners import Campaign
    from insight.uplift.metrics import qini_coefficient
    from insight.uplift.select import select_learner, validation_split

    load_before = os.getloadavg()
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    data = demo_campaign_data(rows=rows, seed=seed)
    treatment = data.customers[TREATMENT].to_numpy(dtype=int)
    churn = (data.customers["churned"] == "Yes").to_numpy(dtype=int)
    train, held = validation_split(treatment, churn, 0.5, seed)
    X, names, categorical, y = encoded(data.customers, train)
    seconds["draw and encode"] = round(time.perf_counter() - started, 2)

    started = time.perf_counter()
    campaign = Campaign.of(X[train], treatment[train], y[train], feature_names=names, categorical=categorical)
    selection = select_learner(campaign, seed=seed, threads=threads)
    seconds["uplift models"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    risk_model = fit_churn_model(X[train], y[train], feature_names=names, categorical=categorical,
                                 config=ChurnConfig(), seed=seed, threads=threads)
    seconds["churn model"] = round(time.perf_counter() - started, 2)

    true_uplift = data.truth["uplift"].to_numpy(dtype=float)[held]
    rankings = {"uplift": selection.model.predict(X[held]), "risk": risk_model.probability(X[held]),
                "true": true_uplift}
    figures = ranking_figures(rankings, true_uplift)
    random_score = np.random.default_rng(seed).random(len(held))
    qini = {name: qini_coefficient(churn[held], s, treatment[held]) for name, s in
            {**rankings, "random": random_score}.items()}
    best = figures["best_budget"]
    own = figures["own_best"]
    return {"benchmark": "uplift", "rows": rows, "seed": seed, "train_customers": int(len(train)),
            "held_out_customers": int(len(held)), "features": len(names), "chosen": selection.chosen,
            "validation": selection.scores, "qini_held_out": qini, **figures,
            "saves_ratio_best_budget": best["uplift"]["saves"] / best["risk"]["saves"],
            "saves_ratio_own_best": own["uplift"]["saves"] / own["risk"]["saves"],
            "saves_ratio_ceiling": own["true"]["saves"] / own["risk"]["saves"],
            "must_show": {"gain_share_ok": figures["gain_share"]["uplift"] >= GAIN_SHARE,
                          "saves_ok": best["uplift"]["saves"] >= (1 + SAVES_MARGIN) * best["risk"]["saves"]},
            "seconds": seconds, "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in os.getloadavg()]}


def print_uplift(result: dict[str, Any]) -> None:
    r = result
    print(f"Uplift vs risk targeting on the campaign demo: {r['rows']:,} customers, seed {r['seed']}; "
          f"{r['train_customers']:,} to train, {r['held_out_customers']:,} held out; {r['features']} features; "
          f"learner chosen: {r['chosen']}")
    print(f"  (a) share of the true uplift ranking's gain over random: uplift "
          f"{100 * r['gain_share']['uplift']:.1f} %, risk {100 * r['gain_share']['risk']:.1f} % "
          f"(must be >= {100 * GAIN_SHARE:.0f} %: {'yes' if r['must_show']['gain_share_ok'] else 'NO'})")
    print(f"  {'list':<32} {'ranking':<7} {'contacted':>9} {'true saves':>10} {'neg. uplift':>11}")
    for label, key in (("(b) best budget (uplift's peak)", "best_budget"), ("each ranking's own best", "own_best"),
                       ("model's budget (estimate > 0)", "model_budget")):
        for name in ("uplift", "risk", "true"):
            f = r[key][name]
            print(f"  {label:<32} {name:<7} {f['customers']:>9,} {f['saves']:>10.1f} "
                  f"{100 * f['negative_share']:>10.1f}%")
            label = ""
    for share, lists in r["fixed_budgets"].items():
        u, k = lists["uplift"], lists["risk"]
        print(f"  budget {100 * float(share):.0f} %: {u['customers']:,} contacted, true saves uplift {u['saves']:.1f} "
              f"vs risk {k['saves']:.1f} (x {u['saves'] / k['saves']:.2f}) vs true {lists['true']['saves']:.1f}; "
              f"negative uplift on the list: uplift {100 * u['negative_share']:.1f} %, risk "
              f"{100 * k['negative_share']:.1f} %")
    print(f"  (b) saves, uplift / risk: {r['saves_ratio_best_budget']:.2f} at the best budget "
          f"(must be >= {1 + SAVES_MARGIN:.2f}: {'yes' if r['must_show']['saves_ok'] else 'NO'}), "
          f"{r['saves_ratio_own_best']:.2f} each at its own best ({r['saves_ratio_ceiling']:.2f} for the true uplift "
          f"ranking's peak: the most any ranking can reach); random targeting saves "
          f"{r['random_saves_per_customer']:.3f} per customer contacted")
    print(f"  (c) negative true uplift among everyone held out: {100 * r['negative_share_everyone']:.1f} %")
    q = r["qini_held_out"]
    print(f"  Qini coefficient (held out, realised outcomes): uplift {q['uplift']:.3f}, risk {q['risk']:.3f}, "
          f"true uplift {q['true']:.3f}, random {q['random']:.3f}; validation (training half): "
          + ", ".join(f"{k} {v['qini']:.3f}" for k, v in r["validation"].items()))
    s = ", ".join(f"{k} {v}" for k, v in r["seconds"].items())
    print(f"  seconds: {s}; load average before {r['load_average_before']}, after {r['load_average_after']}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks uplift",
                                     description="Uplift vs churn-risk targeting on the campaign demo.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    run_seeds(args.seed, lambda seed: uplift_benchmark(args.rows, seed, threads=args.threads), print_uplift,
              args.json)
    return 0
