"""Reference Getis-Ord Gi* for Trygg's tests: PySAL esda's G_Local(star=True).

Reads JSON from the file named as the first argument (or stdin):
    {"ids": [str, ...], "y": [number, ...], "neighbours": [[int, ...], ...]}
where neighbours[i] lists the indexes of cell i's neighbours (never i itself).
Builds a libpysal W with binary weights from those lists and runs
    esda.G_Local(y, w, transform="B", star=True, permutations=0)
(esda sets the diagonal to 1 for star=True). Prints JSON:
    {"z": [...], "g": [...], "p_norm": [...] (esda's one-sided p),
     "p_two_sided": [...] (2 * p_norm), "p_fdr": [...] (scipy BH of p_two_sided),
     "versions": {...}}
"""

import json
import sys
import warnings

import esda
import libpysal
import numpy as np
import scipy
from scipy import stats


def grid(data):
    """The counts and the libpysal W of an input {"ids", "y", "neighbours"}."""
    ids = data["ids"]
    y = np.asarray(data["y"], dtype=float)
    neighbours = {ids[i]: [ids[j] for j in nb] for i, nb in enumerate(data["neighbours"])}
    with warnings.catch_warnings():
        # Islands are expected; results only on stdout.
        warnings.simplefilter("ignore")
        w = libpysal.weights.W(neighbours, id_order=ids, silence_warnings=True)
    return y, w


def main() -> None:
    src = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    y, w = grid(json.load(src))
    with warnings.catch_warnings():
        # The future-default warnings are expected; results only on stdout.
        warnings.simplefilter("ignore")
        g = esda.G_Local(y, w, transform="B", star=True, permutations=0)
    p_norm = np.asarray(g.p_norm, dtype=float)
    p_two = 2.0 * p_norm
    out = {
        "z": [float(v) for v in g.Zs],
        "g": [float(v) for v in g.Gs],
        "p_norm": [float(v) for v in p_norm],
        "p_two_sided": [float(v) for v in p_two],
        "p_fdr": [float(v) for v in stats.false_discovery_control(np.minimum(p_two, 1.0), method="bh")],
        "versions": {
            "esda": esda.__version__,
            "libpysal": libpysal.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
