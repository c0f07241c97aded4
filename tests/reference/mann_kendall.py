"""Reference Mann-Kendall test for Trygg's tests: pymannkendall.original_test.

Reads JSON from the file named as the first argument (or stdin):
    {"series": [[number, ...], ...]}
Prints JSON {"results": [{"s", "var_s", "z", "p", "tau", "trend"}, ...],
"versions": {...}}, one result per series, with pymannkendall's default
alpha = 0.05 ("increasing", "decreasing" or "no trend").
"""

import json
import sys

import numpy as np
import pymannkendall as mk


def main() -> None:
    src = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    data = json.load(src)
    results = []
    for series in data["series"]:
        r = mk.original_test(np.asarray(series, dtype=float))
        results.append(
            {
                "s": float(r.s),
                "var_s": float(r.var_s),
                "z": float(r.z),
                "p": float(r.p),
                "tau": float(r.Tau),
                "trend": r.trend,
            }
        )
    json.dump({"results": results, "versions": {"pymannkendall": mk.__version__, "numpy": np.__version__}}, sys.stdout)


if __name__ == "__main__":
    main()
