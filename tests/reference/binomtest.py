"""Reference two-sided exact binomial test for Trygg's rate-change tests: SciPy.

Reads JSON from the file named as the first argument (or stdin):
    {"cases": [[c1, t1, c2, t2], ...]}
where c1, c2 are event counts and t1, t2 the exposures (seconds) of two periods.
Under H0 (equal rates) c1 ~ Binomial(c1 + c2, t1 / (t1 + t2)); prints JSON
{"p": [p-value or null when c1 + c2 == 0, ...], "versions": {...}}.
"""

import json
import sys

import scipy
from scipy.stats import binomtest


def main() -> None:
    src = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    data = json.load(src)
    out = []
    for c1, t1, c2, t2 in data["cases"]:
        n = int(c1) + int(c2)
        out.append(None if n == 0 else float(binomtest(int(c1), n, t1 / (t1 + t2)).pvalue))
    json.dump({"p": out, "versions": {"scipy": scipy.__version__}}, sys.stdout)


if __name__ == "__main__":
    main()
