"""Reads an export with an independent reader and prints what it holds as JSON.

    read_export.py xlsx FILE     -> {"sheets": [...], "header": [...], "rows": [[...]], "types": [...], "parameters": {...}}
    read_export.py parquet FILE  -> {"columns": [...], "rows": N, "data": {col: [...]}, "metadata": {...}}
    read_export.py mvt FILE      -> {layer: {"extent": 4096, "features": [{"geometry", "properties"}]}}
    read_export.py png FILE      -> {"width", "height", "mode", "rgba": [r, g, b, a, ...] row by row}
    read_export.py svg FILE      -> {"root", "width", "height", "elements": [{"tag", "class", "text", "title"}]}

openpyxl reads XLSX (cell values keep their types: numbers are int/float, text is
str); pyarrow reads Parquet (the schema's types, key-value metadata such as
GeoParquet's "geo" and Trygg's provenance); mapbox-vector-tile decodes vector
tiles (tile pixel coordinates, y down as in the tile); Pillow decodes PNG; the
standard library's XML parser reads SVG (elements in document order, with their
class, text and <title> child).
"""

import json
import sys


def xlsx(path):
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    data = book["Data"]
    rows = [list(r) for r in data.iter_rows(values_only=True)]
    params = {r[0]: r[1] for r in book["Parametrar"].iter_rows(min_row=2, values_only=True)}
    body = rows[1:]
    return {
        "sheets": book.sheetnames,
        "header": rows[0],
        "rows": body,
        "types": [[type(v).__name__ for v in r] for r in body],
        "parameters": params,
    }


def parquet(path):
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    data = {}
    for name in table.column_names:
        if name == "geometry":
            data[name] = [None if v is None else len(v) for v in table.column(name).to_pylist()]
        else:
            data[name] = table.column(name).to_pylist()
    return {
        "columns": table.column_names,
        "types": [str(f.type) for f in table.schema],
        "rows": table.num_rows,
        "data": data,
        "metadata": meta,
    }


def mvt(path):
    import mapbox_vector_tile

    with open(path, "rb") as f:
        data = f.read()
    if not data:
        return {}
    layers = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    return {
        name: {
            "extent": layer["extent"],
            "features": [
                {"geometry": f["geometry"], "properties": f["properties"]}
                for f in layer["features"]
            ],
        }
        for name, layer in layers.items()
    }


def png(path):
    from PIL import Image

    image = Image.open(path)
    mode = image.mode
    rgba = image.convert("RGBA")
    return {
        "width": rgba.width,
        "height": rgba.height,
        "mode": mode,
        "rgba": list(rgba.tobytes()),
    }


def svg(path):
    import xml.etree.ElementTree as ET

    ns = "{http://www.w3.org/2000/svg}"
    root = ET.parse(path).getroot()
    out = []
    for el in root.iter():
        title = el.find(ns + "title")
        out.append(
            {
                "tag": el.tag.replace(ns, ""),
                "class": el.get("class"),
                "text": el.text if el.tag == ns + "text" else None,
                "title": title.text if title is not None else None,
            }
        )
    return {
        "root": root.tag.replace(ns, ""),
        "width": root.get("width"),
        "height": root.get("height"),
        "elements": out,
    }


if __name__ == "__main__":
    kind, path = sys.argv[1], sys.argv[2]
    print(json.dumps({"xlsx": xlsx, "parquet": parquet, "mvt": mvt, "png": png, "svg": svg}[kind](path), default=str))
