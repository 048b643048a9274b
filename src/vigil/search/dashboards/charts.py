"""The dashboard's pictures, drawn server-side with matplotlib's Agg canvas into PNG bytes.

No pyplot: each chart builds its own :class:`matplotlib.figure.Figure` on a ``FigureCanvasAgg``, so nothing is
shared between requests or threads. matplotlib is imported on first use (never at import time) with its cache
folder under the data folder, so it works where the home folder is read-only. Colours are colour-blind safe: the
Okabe-Ito palette for classes and perceptually uniform maps (viridis, cividis) for quantities.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
from av.error import FFmpegError
from numpy.typing import NDArray

from vigil.db.models import Footage
from vigil.footage.custody import footage_path
from vigil.footage.video import open_video
from vigil.search.dashboards.data import DAYS, BucketSize, Heatmap
from vigil.search.dashboards.service import Dashboard, Dataset
from vigil.settings import Settings

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 100
COUNTS_SIZE = (1000, 420)  # PNG width, height in pixels
BUSIEST_SIZE = (1000, 360)
HEATMAP_SIZE = (900, 600)
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
DARKEN = 0.45  # background frames are dimmed so the heat stands out
BUCKET_LABEL = {BucketSize.QUARTER_HOUR: "per 15 minutes", BucketSize.HOUR: "per hour", BucketSize.DAY: "per day"}
DATE_FORMAT = {BucketSize.QUARTER_HOUR: "%H:%M", BucketSize.HOUR: "%a %d\n%H:%M", BucketSize.DAY: "%a\n%d %b"}
MAX_TICKS = 10


@dataclass(frozen=True)
class Charts:
    """Draws a dashboard's pictures; ``settings`` give the data folder (footage, cache) and the time zone."""

    settings: Settings

    def counts(self, board: Dashboard) -> bytes:
        """Stacked bars of tracks by class per bucket, labelled in local time."""
        figure, axes = self._figure(COUNTS_SIZE)  # first: it prepares matplotlib's cache folder
        from matplotlib.ticker import MaxNLocator

        table = board.counts
        left = np.arange(len(table.buckets), dtype=np.float64)
        bottom = np.zeros(len(table.buckets))
        for i, kind in enumerate(table.classes):
            heights = table.counts[:, i].astype(np.float64)
            colour = OKABE_ITO[i % len(OKABE_ITO)]
            axes.bar(left, heights, width=1.0, bottom=bottom, align="edge", color=colour, label=kind)
            bottom = bottom + heights
        step = max(1, -(-len(table.buckets) // MAX_TICKS))
        ticks = list(range(0, len(table.buckets), step))
        fmt = DATE_FORMAT[table.size]
        axes.set_xticks(ticks, [table.buckets[i].astimezone(board.zone).strftime(fmt) for i in ticks])
        axes.set_xlim(0, max(len(table.buckets), 1))
        axes.set_xlabel(
            f"local time ({_zone_name(board)}), from {_local(board, board.start)} to {_local(board, board.end)}"
        )
        axes.set_ylabel(f"tracks {BUCKET_LABEL[table.size]}")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_title(f"Tracks by class {BUCKET_LABEL[table.size]} — {', '.join(board.cameras)}")
        axes.grid(axis="y", alpha=0.3)
        if table.classes:
            axes.legend(title="class", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        else:
            axes.text(0.5, 0.5, "no tracks in this range", transform=axes.transAxes, ha="center", va="center")
        figure.subplots_adjust(left=0.07, right=0.86, bottom=0.2, top=0.9)
        return _png(figure)

    def busiest(self, board: Dashboard) -> bytes:
        """Tracks by local day of the week and hour of the day as a 7 x 24 grid."""
        figure, axes = self._figure(BUSIEST_SIZE)  # first: it prepares matplotlib's cache folder
        from matplotlib.ticker import MaxNLocator

        image = axes.imshow(board.busiest, cmap="cividis", aspect="auto", interpolation="nearest", vmin=0)
        axes.set_yticks(range(7), DAYS)
        axes.set_xticks(range(0, 24, 2), [f"{h:02d}:00" for h in range(0, 24, 2)])
        axes.set_xlabel(f"hour of the day (local time, {_zone_name(board)})")
        axes.set_ylabel("day of the week")
        axes.set_title(f"Busiest times: tracks starting in each hour — {', '.join(board.cameras)}")
        scale = figure.colorbar(image, ax=axes, label="tracks", fraction=0.04, pad=0.02)
        scale.locator = MaxNLocator(integer=True)
        scale.update_ticks()
        figure.subplots_adjust(left=0.07, right=0.97, bottom=0.16, top=0.88)
        return _png(figure)

    def heatmap(self, board: Dashboard, dataset: Dataset, camera: str) -> bytes:
        """A camera's path or dwell heatmap over a darkened frame of its footage, with a colour scale."""
        maps = board.paths if dataset is Dataset.PATHS else board.dwell
        heatmap = maps[camera]
        figure, axes = self._figure(HEATMAP_SIZE)
        grid = heatmap.grid
        background = self.background(board.frames.get(camera))
        if background is not None:
            axes.imshow(background, extent=(0, grid.width, grid.height, 0), interpolation="bilinear")
        else:
            axes.set_facecolor("#202020")
        extent = (0, grid.columns * grid.cell_px, grid.rows * grid.cell_px, 0)
        shown = np.ma.masked_equal(heatmap.values, 0.0)
        peak = float(heatmap.values.max()) or 1.0
        cmap = "viridis" if dataset is Dataset.PATHS else "plasma"
        image = axes.imshow(shown, cmap=cmap, alpha=0.8, extent=extent, interpolation="nearest", vmin=0, vmax=peak)
        axes.set_xlim(0, grid.width)
        axes.set_ylim(grid.height, 0)
        axes.set_xlabel("x (pixels)")
        axes.set_ylabel("y (pixels)")
        axes.set_title(_heatmap_title(heatmap, dataset))
        label = "tracks crossing the cell" if dataset is Dataset.PATHS else "seconds spent in the cell"
        figure.colorbar(image, ax=axes, label=label, fraction=0.04, pad=0.02)
        return _png(figure)

    def background(self, footage: Footage | None) -> NDArray[np.float64] | None:
        """The first frame of the footage as darkened RGB in [0, 1], or None if it cannot be read."""
        if footage is None:
            return None
        try:
            with open_video(footage_path(self.settings, footage), threads=1) as video:
                frame = next(video.frames(), None)
        except (OSError, ValueError, FFmpegError):
            return None
        if frame is None:
            return None
        rgb = frame.image[:, :, ::-1].astype(np.float64) / 255.0
        return rgb * DARKEN

    def _figure(self, size: tuple[int, int]) -> tuple[Figure, Axes]:
        cache = self.settings.data_dir / "cache" / "matplotlib"
        if "MPLCONFIGDIR" not in os.environ:
            cache.mkdir(parents=True, exist_ok=True)
            os.environ["MPLCONFIGDIR"] = str(cache)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        figure = Figure(figsize=(size[0] / DPI, size[1] / DPI), dpi=DPI)
        FigureCanvasAgg(figure)
        return figure, figure.add_subplot()


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)  # drawn by the figure's own FigureCanvasAgg
    return out.getvalue()


def _local(board: Dashboard, instant: datetime) -> str:
    return instant.astimezone(board.zone).strftime("%Y-%m-%d %H:%M")


def _zone_name(board: Dashboard) -> str:
    return str(getattr(board.zone, "key", board.zone))


def _heatmap_title(heatmap: Heatmap, dataset: Dataset) -> str:
    what = "Paths: tracks crossing each cell" if dataset is Dataset.PATHS else "Dwell: seconds spent in each cell"
    total = f"{int(heatmap.values.max())} tracks at most" if dataset is Dataset.PATHS else None
    total = total or f"{heatmap.values.sum():.0f} s in all"
    return f"{what} — {heatmap.camera} ({total}; cells of {heatmap.grid.cell_px} px)"
