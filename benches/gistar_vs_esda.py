"""Side by side: the same Gi* in PySAL esda and in Trygg, and the speed ratio.

Run after the analytics benchmark (`./dev bench`, or
`cargo bench -p trygg-benches --bench analytics`), which writes its one-year 250 m
grid to target/criterion/gistar_input.json and its timings to target/criterion/:

    .venv/bin/python benches/gistar_vs_esda.py

esda gets the grid already binned, Trygg's timing includes binning ~2M events, so
the ratio is, if anything, in esda's favour. Prints one line per variant.
"""

import json
import pathlib
import statistics
import sys
import time
import warnings

import esda

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRITERION = ROOT / "target" / "criterion"
sys.path.insert(0, str(ROOT / "tests" / "reference"))
from gistar import grid  # noqa: E402  (the reference script's own W builder)


def trygg_seconds(bench: str) -> float:
    path = CRITERION / "analytics_10m" / bench / "new" / "estimates.json"
    return json.loads(path.read_text())["median"]["point_estimate"] / 1e9


def esda_seconds(y, w, permutations: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        esda.G_Local(y, w, transform="B", star=True, permutations=permutations, seed=1)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    y, w = grid(json.loads((CRITERION / "gistar_input.json").read_text()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        print(f"grid: {len(y)} cells, {int(y.sum())} events; esda {esda.__version__}")
        for bench, permutations, repeats in [
            ("gistar_250m_1y_analytical", 0, 7),
            ("gistar_250m_1y_999_permutations", 999, 3),
        ]:
            e = esda_seconds(y, w, permutations, repeats)
            t = trygg_seconds(bench)
            print(f"{bench}: esda {e * 1000:.1f} ms, trygg {t * 1000:.1f} ms (binning included): "
                  f"esda / trygg = {e / t:.1f}")


if __name__ == "__main__":
    sys.exit(main())
