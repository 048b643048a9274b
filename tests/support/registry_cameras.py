"""Camera register test data: a CSV of cameras in two towns."""

from __future__ import annotations

CSV = """code,name,location,latitude,longitude,bearing
pen-10,Market Cross,Market Square Penrith,54.6641,-2.7527,90
pen-11,Bus Station,Market Square Penrith,54.6641,-2.7527,
kes-01,Moot Hall,Keswick Market Place,54.6013,-3.1347,180
"""
