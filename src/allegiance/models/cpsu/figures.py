"""Figures of a CPSU run (PNG and SVG), each with its data sources under the plot."""

from __future__ import annotations

from pathlib import Path


def draw_all(result, outdir) -> list[Path]:
    """Draw every figure of a CPSU result into ``outdir``; returns the written paths."""
    from ... import figures

    return figures.cpsu_figures(result, Path(outdir))
