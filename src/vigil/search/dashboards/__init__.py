"""Research dashboards: counts over time, path and dwell heatmaps, busiest times, as data, charts and CSV."""
