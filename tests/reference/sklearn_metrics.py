#!/usr/bin/env python3
"""scikit-learn oracle for mura's evaluation metrics (src/mura/eval/metrics.h).

Usage: /usr/bin/python3 tests/reference/sklearn_metrics.py OUTDIR

Writes OUTDIR/sklearn_metrics.json: a list of cases, each with its inputs (labels, scores,
threshold, the predictions `score >= threshold`) and what scikit-learn (Debian's 1.2.x)
returns for them: roc_auc_score, average_precision_score, roc_curve (with and without
drop_intermediate), precision_recall_curve, cohen_kappa_score, confusion_matrix(labels=[0, 1]),
classification_report(labels=[0, 1]) as a dict and as text, accuracy_score, recall_score for
each class, plus the Youden threshold computed from sklearn's full ROC curve; and numpy's
default quantile (np.quantile, method="linear") of a few sorted samples.

Floats are written with full precision (json.dump of Python floats round-trips exactly);
NaN is written as null, and a metric sklearn refuses to compute is null with its error text
beside it. Run it with Debian's /usr/bin/python3 (the pyenv python3 has no scikit-learn).
"""
import json
import math
import os
import sys
import warnings

import numpy as np
import sklearn
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    classification_report,
    cohen_kappa_score,
    confusion_matrix,
    precision_recall_curve,
    recall_score,
    roc_auc_score,
    roc_curve,
)

TARGET_NAMES = ["normal", "abnormal"]


def clean(x):
    """Python floats/ints/lists with NaN -> None, ready for strict JSON."""
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return clean(x.tolist())
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return None if math.isnan(x) else x
    if isinstance(x, (np.integer,)):
        return int(x)
    return x


def youden(labels, scores):
    """Threshold maximising TPR - FPR over sklearn's full ROC curve, excluding the artificial
    first point (max score + 1); ties -> the highest threshold. Exact integer comparison."""
    y = np.asarray(labels)
    n_pos = int(y.sum())
    n_neg = int(len(y) - n_pos)
    if n_pos == 0 or n_neg == 0:
        return None
    fpr, tpr, thr = roc_curve(labels, scores, drop_intermediate=False)
    best = None
    for f, t, th in list(zip(fpr, tpr, thr))[1:]:
        fps = int(round(f * n_neg))
        tps = int(round(t * n_pos))
        j = tps * n_neg - fps * n_pos  # (TPR - FPR) * n_pos * n_neg
        if best is None or j > best[0]:
            best = (j, float(th), float(t), float(f))
    return {"threshold": best[1], "tpr": best[2], "fpr": best[3]}


def operating_points(labels, scores):
    """The thresholds sklearn's full ROC curve implies for target sensitivities (the first
    point, after the artificial one, with tpr >= target) and specificities (the last point
    with fpr <= 1 - target; None when only the artificial point keeps it)."""
    y = np.asarray(labels)
    if int(y.sum()) in (0, len(y)):
        return None
    fpr, tpr, thr = roc_curve(labels, scores, drop_intermediate=False)
    fpr, tpr, thr = fpr[1:], tpr[1:], thr[1:]
    out = {}
    for t in (0.5, 0.8, 0.9, 0.95, 1.0):
        i = int(np.argmax(tpr >= t))
        out[f"sensitivity:{t:g}"] = {"threshold": float(thr[i]), "tpr": float(tpr[i]),
                                     "fpr": float(fpr[i])}
        idx = np.where(fpr <= 1 - t)[0]
        out[f"specificity:{t:g}"] = (
            None if len(idx) == 0 else
            {"threshold": float(thr[idx[-1]]), "tpr": float(tpr[idx[-1]]),
             "fpr": float(fpr[idx[-1]])})
    return out


def case(name, labels, scores, threshold=0.5):
    labels = [int(v) for v in labels]
    scores = [float(v) for v in scores]
    y = np.asarray(labels)
    s = np.asarray(scores, dtype=np.float64)
    p = (s >= threshold).astype(int)
    out = {
        "name": name,
        "labels": labels,
        "scores": scores,
        "threshold": float(threshold),
        "preds": p.tolist(),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out["roc_auc"] = float(roc_auc_score(y, s))
            out["roc_auc_error"] = None
        except ValueError as e:
            out["roc_auc"] = None
            out["roc_auc_error"] = str(e)
        out["average_precision"] = float(average_precision_score(y, s))
        fpr, tpr, thr = roc_curve(y, s)
        out["roc_curve"] = {"fpr": fpr, "tpr": tpr, "thresholds": thr}
        fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
        out["roc_curve_full"] = {"fpr": fpr, "tpr": tpr, "thresholds": thr}
        prec, rec, thr = precision_recall_curve(y, s)
        out["pr_curve"] = {"precision": prec, "recall": rec, "thresholds": thr}
        out["kappa"] = float(cohen_kappa_score(y, p))
        out["confusion_matrix"] = confusion_matrix(y, p, labels=[0, 1]).tolist()
        rep = classification_report(y, p, labels=[0, 1], output_dict=True)
        # With labels=[0, 1] and only one class in labels and predictions, sklearn names the
        # micro average "micro avg" instead of "accuracy"; in binary problems they are equal.
        acc = rep["accuracy"] if "accuracy" in rep else rep["micro avg"]["precision"]
        out["report"] = {
            "0": rep["0"],
            "1": rep["1"],
            "accuracy": acc,
            "macro avg": rep["macro avg"],
            "weighted avg": rep["weighted avg"],
            "has_accuracy_row": "accuracy" in rep,
        }
        out["report_text"] = classification_report(
            y, p, labels=[0, 1], target_names=TARGET_NAMES, digits=4
        )
        out["accuracy"] = float(accuracy_score(y, p))
        out["recall_1"] = float(recall_score(y, p, pos_label=1, labels=[0, 1], zero_division=0))
        out["recall_0"] = float(recall_score(y, p, pos_label=0, labels=[0, 1], zero_division=0))
    out["youden"] = youden(labels, scores)
    out["operating_points"] = operating_points(labels, scores)
    return clean(out)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: sklearn_metrics.py OUTDIR")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    rng = np.random.default_rng(20240531)
    cases = []

    # Random scores, no signal, and a reasonable classifier.
    y = (rng.random(200) < 0.4).astype(int)
    cases.append(case("random_200", y, rng.random(200)))
    y = (rng.random(1000) < 0.3).astype(int)
    s = np.where(y == 1, rng.beta(4, 2, 1000), rng.beta(2, 4, 1000))
    cases.append(case("signal_1000", y, s))
    cases.append(case("signal_1000_threshold_0.3", y, s, 0.3))
    y = (rng.random(3200) < 0.45).astype(int)
    s = np.where(y == 1, rng.beta(3, 2, 3200), rng.beta(2, 3, 3200))
    cases.append(case("signal_3200", y, s))

    # Heavy ties: scores rounded to one decimal (0.5 lands exactly on the threshold).
    y = (rng.random(300) < 0.5).astype(int)
    s = np.round(np.clip(0.35 * y + rng.random(300) * 0.65, 0, 1), 1)
    cases.append(case("tied_one_decimal", y, s))
    y = (rng.random(40) < 0.5).astype(int)
    cases.append(case("tied_few_values", y, rng.integers(0, 3, 40) / 2.0))
    y = (rng.random(50) < 0.5).astype(int)
    cases.append(case("all_scores_equal", y, np.full(50, 0.5)))
    cases.append(case("all_scores_equal_below_threshold", y, np.full(50, 0.25)))

    # Perfect and inverted classifiers.
    y = (rng.random(60) < 0.5).astype(int)
    s = np.where(y == 1, 0.6 + 0.4 * rng.random(60), 0.4 * rng.random(60))
    cases.append(case("perfect", y, s))
    cases.append(case("inverted", y, 1.0 - s))

    # Imbalanced: 2 positives in 500.
    y = np.zeros(500, dtype=int)
    y[[17, 401]] = 1
    s = rng.random(500) * 0.6
    s[17] = 0.9
    s[401] = 0.3
    cases.append(case("imbalanced_2_of_500", y, s))

    # One class only.
    cases.append(case("all_negative", np.zeros(37, dtype=int), rng.random(37)))
    cases.append(case("all_positive", np.ones(37, dtype=int), rng.random(37)))
    cases.append(case("all_negative_all_predicted_negative", np.zeros(20, dtype=int), rng.random(20) * 0.4))
    cases.append(case("all_positive_all_predicted_positive", np.ones(20, dtype=int), 0.6 + rng.random(20) * 0.4))

    # Small n.
    cases.append(case("n2", [0, 1], [0.3, 0.7]))
    cases.append(case("n2_inverted", [0, 1], [0.7, 0.3]))
    cases.append(case("n2_tied", [1, 0], [0.5, 0.5]))
    cases.append(case("n3", [1, 0, 1], [0.2, 0.4, 0.9]))
    cases.append(case("n1_negative", [0], [0.8]))

    # A class never predicted (zero_division) and never true.
    y = (rng.random(80) < 0.5).astype(int)
    cases.append(case("never_predicted_abnormal", y, rng.random(80) * 0.49))
    cases.append(case("never_predicted_normal", y, 0.5 + rng.random(80) * 0.5))

    # Scores that are not probabilities (logits) still rank.
    y = (rng.random(120) < 0.5).astype(int)
    cases.append(case("logits", y, rng.normal(0, 2, 120) + y, 0.0))

    # numpy's default quantile (method="linear"), the bootstrap's percentile definition.
    qs = [0.0, 0.025, 0.05, 0.1, 1.0 / 3.0, 0.5, 0.9, 0.95, 0.975, 1.0]
    quantiles = []
    for m in (1, 2, 5, 40, 999, 1000):
        v = np.sort(rng.random(m))
        quantiles.append({"values": v, "q": qs, "result": [float(np.quantile(v, q)) for q in qs]})
    v = np.sort(rng.random(1000))
    quantiles.append({"values": v, "q": [0.025, 0.975],
                      "result": [float(x) for x in np.percentile(v, [2.5, 97.5])]})

    doc = {
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "cases": cases,
        "quantiles": clean(quantiles),
    }
    path = os.path.join(outdir, "sklearn_metrics.json")
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f, allow_nan=False)
    os.replace(path + ".tmp", path)
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    main()
