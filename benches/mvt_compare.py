"""Decodes the MVT encoder benchmark's tiles (benches/benches/mvt.rs) with
mapbox-vector-tile and checks that fast-mvt and the mvt crate wrote the same
features (geometry and properties, in order).

    .venv/bin/python benches/mvt_compare.py [target/bench-data]
"""

import sys
from pathlib import Path

import mapbox_vector_tile

base = Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench-data")
for kind in ["squares", "points"]:
    tiles = {}
    for encoder in ["fast", "mvt"]:
        data = (base / f"mvt-{encoder}-{kind}.mvt").read_bytes()
        tiles[encoder] = mapbox_vector_tile.decode(data)
    a, b = tiles["fast"], tiles["mvt"]
    assert a.keys() == b.keys(), (a.keys(), b.keys())
    for layer in a:
        fa, fb = a[layer]["features"], b[layer]["features"]
        assert len(fa) == len(fb), (layer, len(fa), len(fb))
        for x, y in zip(fa, fb):
            assert x["geometry"] == y["geometry"], (x["geometry"], y["geometry"])
            assert x["properties"] == y["properties"], (x["properties"], y["properties"])
        print(f"{kind}: {layer}: {len(fa)} features, the same from both encoders")
