"""Generate engine/reference/china_land.py: mainland China's land boundary as constants.

Source: the npm package world-atlas@2.0.2 (ISC, Mike Bostock), file countries-10m.json:
Natural Earth 1:10m Admin 0 Countries, version 4.1.0 (public domain), as quantized
TopoJSON. Natural Earth draws de facto boundaries ("default" point of view):
- China (ISO 156) there excludes Hong Kong (344), Macao (446) and Taiwan (158, with
  Penghu and Kinmen), which are separate features: refused by lingong's policy anyway.
  Matsu, Wuqiu and Pratas are missing from the 1:10m data; all lie beyond the sea
  margin below, and EXTRA_TW_BOXES name them in refusals;
- Aksai Chin is inside China, Arunachal Pradesh outside (the line of actual control);
- the Paracels are inside China; the Spratlys ("Spratly Is.") and Scarborough Reef are
  separate disputed features: this script adds them to the accepted area, as PRC maps
  show them (三沙市, GB/T 2260 code 460300).

The accepted area is
    mainland = China + Spratly Is. + Scarborough Reef
    area     = mainland + the sea within SEA_MARGIN_DEG of it that is nearer to it than
               to any other land (the median line, to within MIDLINE_STEP_DEG)
so coastal points up to ~5 km offshore (piers, reclaimed land newer than the data,
generalised coastline) pass, while another country's land, and the sea on its side of
the median line, never does (Hong Kong, Macao, Kinmen included); land borders are the
data's own shared lines. The area is then simplified (SIMPLIFY_DEG, topology preserved),
rounded to 1e-5 degrees and indexed by a grid of CELL_LAT_DEG x CELL_LNG_DEG cells
(engine.landgrid).

Usage (needs shapely, `pip install -e '.[tools]'`, and npm, or a local copy of the package):
    python tools/build_china_land.py                     # npm pack world-atlas@2.0.2
    python tools/build_china_land.py --package DIR_OR_TGZ
The script refuses to write if the data's sha256 differs from SOURCE_SHA256 (pass
--accept-sha to adopt a new one deliberately) or if any check city lands on the wrong side.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.ops import unary_union

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import landgrid  # noqa: E402
from tests.china_places import ACCEPT, REFUSE  # noqa: E402

PACKAGE = "world-atlas@2.0.2"
DATA_FILE = "countries-10m.json"
SOURCE_SHA256 = "3bc6f1d367a9bcec479841bae0e76092f512838411d0cef124e92eec4db45f79"
OUT = ROOT / "engine" / "reference" / "china_land.py"

MAINLAND = ("China", "Spratly Is.", "Scarborough Reef")
HK_MO_TW = ("Hong Kong", "Macao", "Taiwan")
SEA_MARGIN_DEG = 0.05  # ~5 km
MIDLINE_STEP_DEG = 0.005  # ~500 m
SIMPLIFY_DEG = 0.002  # ~200 m
CELL_LAT_DEG = 0.25  # powers of two: cell borders are exact floats
CELL_LNG_DEG = 0.25
SCALE = 100_000  # stored coordinates are integers in 1e-5 degrees (~1.1 m)
CHUNK_CHARS = 1000


def load_topology(package: str | None) -> tuple[dict, bytes]:
    """The TopoJSON dict and its raw bytes, from a package dir/tarball or `npm pack`."""
    with tempfile.TemporaryDirectory() as tmp:
        if package is None:
            subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=tmp, check=True)
            package = str(next(Path(tmp).glob("world-atlas-*.tgz")))
        path = Path(package)
        if path.is_file():
            with tarfile.open(path) as tar:
                member = tar.extractfile(f"package/{DATA_FILE}")
                assert member is not None
                raw = member.read()
                meta = tar.extractfile("package/package.json")
                assert meta is not None
                version = json.loads(meta.read())["version"]
        else:
            raw = (path / DATA_FILE).read_bytes()
            version = json.loads((path / "package.json").read_text())["version"]
    if f"world-atlas@{version}" != PACKAGE:
        raise SystemExit(f"expected {PACKAGE}, got world-atlas@{version}")
    return json.loads(raw), raw


def decode(topo: dict) -> dict[str, MultiPolygon]:
    """Feature name -> MultiPolygon (lng, lat), rings with fewer than 4 points dropped."""
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs: list[list[tuple[float, float]]] = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        arcs.append(pts)

    def ring(idx: list[int]) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for i in idx:
            pts = arcs[i] if i >= 0 else arcs[~i][::-1]
            out.extend(pts if not out else pts[1:])
        return out

    feats: dict[str, MultiPolygon] = {}
    for g in topo["objects"]["countries"]["geometries"]:
        polys = g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]]
        parts = []
        for p in polys:
            rings = [ring(r) for r in p]
            if len(rings[0]) >= 4:
                parts.append(Polygon(rings[0], [h for h in rings[1:] if len(h) >= 4]))
        feats[g["properties"]["name"]] = shapely.make_valid(MultiPolygon(parts))
    return feats


def accepted_area(feats: dict) -> object:
    """Mainland land plus the sea nearer to it than to other land, up to SEA_MARGIN_DEG.

    A sea point p at distance d_m from the mainland and d_f from other land is kept when
    d_m < r <= d_f for some r in MIDLINE_STEP_DEG, 2 * MIDLINE_STEP_DEG, ..., SEA_MARGIN_DEG:
    the median line between the coasts, to within one step.
    """
    mainland = unary_union([feats[n] for n in MAINLAND])
    reach = mainland.buffer(2 * SEA_MARGIN_DEG)
    foreign = unary_union(
        [
            g.intersection(reach)
            for n, g in feats.items()
            if n not in MAINLAND and g.intersects(reach)
        ]
    )
    steps = round(SEA_MARGIN_DEG / MIDLINE_STEP_DEG)
    sea = [
        mainland.buffer(k * MIDLINE_STEP_DEG).difference(foreign.buffer(k * MIDLINE_STEP_DEG))
        for k in range(1, steps + 1)
    ]
    return unary_union([mainland, *sea]).simplify(SIMPLIFY_DEG, preserve_topology=True)


def rings_of(area) -> list[list[int]]:
    """Rings as flat [lat, lng, ...] integers in 1e-5 degrees, closing vertex dropped."""
    polys = list(area.geoms) if hasattr(area, "geoms") else [area]
    out = []
    for p in polys:
        for r in [p.exterior, *p.interiors]:
            flat: list[int] = []
            for lng, lat in list(r.coords)[:-1]:
                q = [round(lat * SCALE), round(lng * SCALE)]
                if flat[-2:] != q:
                    flat.extend(q)
            if flat[:2] == flat[-2:]:
                flat = flat[:-2]
            if len(flat) >= 6:
                out.append(flat)
    return out


# Taiwan-administered islands missing from Natural Earth 1:10m (all farther than
# SEA_MARGIN_DEG from mainland land, so refused anyway): boxes only to word the refusal.
EXTRA_TW_BOXES = (
    (26.13, 26.26, 119.90, 120.03),  # Matsu: Nangan, Beigan
    (25.94, 25.99, 119.92, 119.99),  # Matsu: Juguang
    (26.35, 26.39, 120.47, 120.52),  # Matsu: Dongyin
    (24.97, 25.00, 119.43, 119.47),  # Wuqiu
    (20.68, 20.73, 116.69, 116.76),  # Pratas (Dongsha)
)


def boxes_of(feats: dict, names: tuple[str, ...]) -> list[tuple[float, float, float, float]]:
    """(lat_min, lat_max, lng_min, lng_max) per part of the named features, grown 0.05 deg."""
    out = list(EXTRA_TW_BOXES)
    for n in names:
        for p in feats[n].geoms:
            x0, y0, x1, y1 = p.bounds
            if p.area < 1e-4:  # rocks: their neighbours' boxes cover them
                continue
            out.append(
                (
                    math.floor((y0 - 0.05) * 100) / 100,
                    math.ceil((y1 + 0.05) * 100) / 100,
                    math.floor((x0 - 0.05) * 100) / 100,
                    math.ceil((x1 + 0.05) * 100) / 100,
                )
            )
    return out


def chunks(text: str, indent: str) -> str:
    """A long string as implicitly concatenated literals of at most CHUNK_CHARS chars."""
    parts = []
    k = 0
    while k < len(text):
        m = min(len(text), k + CHUNK_CHARS)
        if m < len(text):
            cut = text.rfind(" ", k, m)
            if cut > k:
                m = cut + 1
        parts.append(f'{indent}"{text[k:m]}"')
        k = m
    return "\n".join(parts)


def ring_literal(text: str) -> str:
    """One ring as a string literal, parenthesised over several lines when long."""
    if len(text) <= CHUNK_CHARS:
        return f'    "{text}"'
    return "    (\n" + chunks(text, "        ") + "\n    )"


def render(
    rings: list[list[int]],
    grid: tuple[float, float, int, int],
    cells: str,
    boxes: list,
    sha: str,
    stats: str,
) -> str:
    lat0, lng0, rows, cols = grid
    ring_src = ",\n".join(ring_literal(" ".join(map(str, r))) for r in rings)
    box_src = "\n".join(f"    ({a!r}, {b!r}, {c!r}, {d!r})," for a, b, c, d in boxes)
    return f'''"""Mainland China's land boundary as data. GENERATED: do not edit.

Made by tools/build_china_land.py on {dt.date.today().isoformat()} (shapely {shapely.__version__},
GEOS {shapely.geos_version_string}) from the npm package {PACKAGE} (ISC licence,
(c) Mike Bostock), file {DATA_FILE}, sha256
{sha}:
Natural Earth 1:10m Admin 0 Countries v4.1.0 (public domain, naturalearthdata.com),
de facto boundaries.

Owns: the accepted area of lingong's mainland-China gate (engine.geo.in_china):
China + Spratly Is. + Scarborough Reef (Natural Earth features), plus sea within
{SEA_MARGIN_DEG} degrees of that coast and nearer to it than to any other land;
simplified at {SIMPLIFY_DEG} degrees. Hong Kong, Macao and Taiwan (with Penghu and
Kinmen) are outside; Matsu, Wuqiu and Pratas (Taiwan-administered, missing from the
data) lie beyond the sea margin. {stats}

Invariants: RINGS are closed rings (the last vertex joins the first), each a string of
integers "lat lng lat lng ..." in 1e-5 degrees (WGS-84); the even-odd rule decides
inside. CELLS is the run-length encoded grid of engine.landgrid (a mark ".", "#" or "+"
then a count, row-major from the south-west cell of GRID_ROWS x GRID_COLS cells of
GRID_CELL_LAT_DEG x GRID_CELL_LNG_DEG degrees from GRID_LAT0_DEG, GRID_LNG0_DEG), made
from RINGS by engine.landgrid.classify_cells. HK_MO_TW_BOXES (lat_min, lat_max, lng_min, lng_max)
cover Hong Kong, Macao and Taiwan's islands: only used to word a refusal.

Limits: accuracy is Natural Earth 1:10m's (a few hundred metres) less the simplification;
Arunachal Pradesh follows the de facto line (outside).
"""

SOURCE = "npm {PACKAGE} {DATA_FILE} (Natural Earth 1:10m Admin 0 Countries v4.1.0)"
SOURCE_SHA256 = "{sha}"
COORD_SCALE = {SCALE}
GRID_LAT0_DEG = {lat0!r}
GRID_LNG0_DEG = {lng0!r}
GRID_CELL_LAT_DEG = {CELL_LAT_DEG!r}
GRID_CELL_LNG_DEG = {CELL_LNG_DEG!r}
GRID_ROWS = {rows}
GRID_COLS = {cols}

CELLS = (
{chunks(landgrid.encode_cells(cells), "    ")}
)

HK_MO_TW_BOXES: tuple[tuple[float, float, float, float], ...] = (
{box_src}
)

RINGS: tuple[str, ...] = (
{ring_src},
)
'''


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--package", help="world-atlas package directory or .tgz (default: npm pack)")
    ap.add_argument("--accept-sha", action="store_true", help="adopt a new data sha256")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()

    topo, raw = load_topology(args.package)
    sha = hashlib.sha256(raw).hexdigest()
    if sha != SOURCE_SHA256 and not args.accept_sha:
        raise SystemExit(f"{DATA_FILE} sha256 {sha} != {SOURCE_SHA256} (use --accept-sha)")
    feats = decode(topo)
    area = accepted_area(feats)
    rings = rings_of(area)
    float_rings = [[v / SCALE for v in r] for r in rings]

    lats = [r[k] for r in float_rings for k in range(0, len(r), 2)]
    lngs = [r[k] for r in float_rings for k in range(1, len(r), 2)]
    lat0 = math.floor(min(lats) / CELL_LAT_DEG) * CELL_LAT_DEG - CELL_LAT_DEG
    lng0 = math.floor(min(lngs) / CELL_LNG_DEG) * CELL_LNG_DEG - CELL_LNG_DEG
    rows = math.floor((max(lats) - lat0) / CELL_LAT_DEG) + 2
    cols = math.floor((max(lngs) - lng0) / CELL_LNG_DEG) + 2
    dims = (lat0, lng0, CELL_LAT_DEG, CELL_LNG_DEG, rows, cols)
    cells = landgrid.classify_cells(float_rings, *dims)
    grid = landgrid.PolygonGrid(float_rings, *dims, cells)

    wrong = [n for n, (la, ln) in ACCEPT.items() if not grid.contains(la, ln)]
    wrong += [n for n, (la, ln) in REFUSE.items() if grid.contains(la, ln)]
    counts = grid.boundary_edge_counts()
    stats = (
        f"{len(rings)} rings, {sum(len(r) for r in rings) // 2} vertices,\ngrid {rows} x {cols}"
        f" ({cells.count('+')} boundary cells, at most {max(counts)} edges per lookup)."
    )
    print(stats)
    if wrong:
        raise SystemExit(f"check places on the wrong side: {wrong}")
    boxes = boxes_of(feats, HK_MO_TW)
    text = render(rings, (lat0, lng0, rows, cols), cells, boxes, sha, stats)
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"wrote {args.out}: {len(text.encode())} bytes, sha256 of source {sha}")


if __name__ == "__main__":
    main()
