"""The geometry of the report's charts (the template draws them as inline
SVG): energy bars on one scale with an axis, the running total of money
over the horizon with its below-zero spans, and the sensitivity tornado.

Every chart has an axis with round ticks; its figures are display-rounded
text. Pure arithmetic, no markup.
"""

import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from . import lifecycle
from .display import show


def nice_ticks(low: float, high: float, count: int = 5) -> List[float]:
    """Round tick values covering low..high (0 included), about ``count``."""
    low, high = min(low, 0.0), max(high, 0.0)
    span = high - low or 1.0
    raw = span / count
    step = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * step:
            step *= factor
            break
    first = math.floor(low / step + 1e-9) * step
    ticks: List[float] = []
    v = first
    while v <= high + step * 1e-9 or len(ticks) < 2:
        ticks.append(round(v, 10))
        v += step
    if ticks[-1] < high:
        ticks.append(ticks[-1] + step)
    return ticks


def _scale(ticks: Sequence[float], x0: float, width: float) -> Callable[[float], float]:
    lo, hi = ticks[0], ticks[-1]
    return lambda v: round(x0 + (v - lo) / ((hi - lo) or 1.0) * width, 2)


def cumulative(costs: Optional[lifecycle.Costs], width: int = 360, height: int = 150,
               unit: str = "") -> Optional[Dict[str, Any]]:
    """The running total of money over the horizon as a line: down at each
    year's purchases, up (or down) through the year, the residual value at
    the end; the spans below zero shaded. None without costs."""
    rows = lifecycle.cash_flow(costs) if costs is not None else []
    if not rows or costs is None:
        return None
    points: List[Tuple[float, float]] = [(0.0, 0.0)]
    running = 0.0
    for i, row in enumerate(rows):
        running -= costs.purchases[i]
        points.append((float(i), running))
        running += row.energy + row.other
        points.append((float(i + 1), running))
        if row.residual:
            running += row.residual
            points.append((float(i + 1), running))
    values = [v for _, v in points]
    ticks = nice_ticks(min(values), max(values), 4)
    # Room for the longest tick label (about 5.6 units a character at 10px).
    left = 8 + int(5.6 * max(len(show(v)) for v in ticks))
    right, top, bottom = 10, 12, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    x = _scale((0.0, float(len(rows))), left, plot_w)
    lo, hi = ticks[0], ticks[-1]

    def y(v: float) -> float:
        return round(top + (hi - v) / ((hi - lo) or 1.0) * plot_h, 2)

    below = [{"x": x(start), "w": round(x(end if end is not None else len(rows)) - x(start), 2)}
             for start, end in costs.below_zero]
    return {
        "width": width, "height": height, "left": left, "top": top, "plot_w": plot_w,
        "plot_h": plot_h, "zero_y": y(0.0), "bottom": top + plot_h,
        "line": " ".join(f"{x(t)},{y(v)}" for t, v in points),
        "area": f"{x(0)},{y(0)} " + " ".join(f"{x(t)},{y(v)}" for t, v in points)
                + f" {x(points[-1][0])},{y(0)}",
        "y_ticks": [{"y": y(v), "label": show(v)} for v in ticks],
        "x_ticks": [{"x": x(float(i)), "label": str(i)} for i in range(len(rows) + 1)],
        "below": below, "unit": unit, "end": show(running), "end_y": y(running),
        "end_x": x(float(len(rows))),
    }


def energy_axis(top: float, x0: float, width: float) -> Tuple[float, List[Dict[str, Any]]]:
    """The energy chart's scale (its right end) and ticks, one for all bars."""
    ticks = nice_ticks(0.0, top, 5)
    scale = _scale(ticks, x0, width)
    return ticks[-1], [{"x": scale(v), "label": show(v)} for v in ticks]


def tornado(items: Sequence[Any], base: float, labels: Sequence[str], width: int = 360,
            row_h: int = 16) -> Optional[Dict[str, Any]]:
    """Bars from each input's low to its high result around the expected
    one (``base``), widest first, on one axis."""
    # "PUE (server room cooling overhead)" -> "PUE": the short name fits.
    shown = [(x, label.split(" (")[0]) for x, label in zip(items, labels) if x.swing > 0]
    if not shown:
        return None
    values = [base] + [v for x, _ in shown for v in (x.low, x.high)]
    ticks = nice_ticks(min(values), max(values), 4)
    # Half the end ticks' labels stick out past the plot: room for them.
    half = 2.8 * max(len(show(v)) for v in (ticks[0], ticks[-1])) + 4
    left, right = max(136.0, half), half
    plot_w = width - left - right
    xs = _scale(ticks, left, plot_w)
    rows = []
    for i, (x, label) in enumerate(shown):
        lo, hi = sorted((x.low, x.high))
        rows.append({"label": label, "y": 4 + i * row_h, "x": xs(lo),
                     "w": max(round(xs(hi) - xs(lo), 2), 1.0),
                     "low": show(x.low), "high": show(x.high),
                     "low_x": xs(x.low), "high_x": xs(x.high),
                     "low_left": x.low <= x.high})
    height = 4 + len(rows) * row_h + 20
    return {"width": width, "height": height, "left": left, "plot_w": plot_w,
            "base_x": xs(base), "bottom": 4 + len(rows) * row_h, "row_h": row_h,
            "rows": rows, "ticks": [{"x": xs(v), "label": show(v)} for v in ticks]}
