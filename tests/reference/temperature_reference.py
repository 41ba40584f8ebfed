#!/usr/bin/env python3
"""Temperature scaling reference: fits T on the cases mura's test writes, independently of
mura's method (scipy's bounded Brent search on log T over the NLL written out in numpy, not
mura's Newton iteration in 1 / T).

Usage: temperature_reference.py CASES.json OUT.json
CASES.json: {"cases": [{"logits": [...], "labels": [...]}, ...]}
OUT.json:   {"fits": [{"temperature": T, "nll": NLL(T), "nll_at_1": NLL(1)}, ...]}
"""
import json
import sys

import numpy as np
from scipy.optimize import minimize_scalar


def nll(d, y, t):
    z = d / t
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    fits = []
    for c in cases:
        d = np.asarray(c["logits"], dtype=np.float64)
        y = np.asarray(c["labels"], dtype=np.float64)
        r = minimize_scalar(lambda u: nll(d, y, np.exp(u)), bounds=(np.log(0.01), np.log(100.0)),
                            method="bounded", options={"xatol": 1e-10, "maxiter": 500})
        t = float(np.exp(r.x))
        fits.append({"temperature": t, "nll": nll(d, y, t), "nll_at_1": nll(d, y, 1.0)})
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump({"fits": fits}, f)


if __name__ == "__main__":
    main()
