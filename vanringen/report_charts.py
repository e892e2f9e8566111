"""The geometry of the report's charts (bars and points in SVG user units), computed from a
report's lists so the templates only draw; every chart copes with no data and with values
suppressed to None. The words (titles, labels, descriptions) are the templates'.
"""

import math

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 36
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
CALL_SERIES = ("planned", "held", "missed")
# Week labels under the bars: about this many, so they never overlap.
MAX_X_LABELS = 13
# Gender bars: one row per group, the label to the left of the bar.
SHARE_WIDTH, ROW_H, LABEL_W = 560, 30, 130


def nice_ticks(highest: int, count: int = 4) -> list[int]:
    """Whole-number axis ticks from 0 to at least `highest`, in steps of 1, 2 or 5 × 10ⁿ."""
    if highest <= 0:
        return [0, 1]
    raw = highest / count
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    top = step * math.ceil(highest / step)
    return list(range(0, top + 1, step))


def _y(value: float, top: int) -> float:
    return round(TOP + PLOT_H - value / top * PLOT_H, 1)


def _axis(ticks: list[int]) -> list[dict]:
    return [{"value": t, "y": _y(t, ticks[-1])} for t in ticks]


def _week_number(week: str) -> str:
    return str(int(week.rsplit("W", 1)[1]))


def _x_labels(xs: list[float], names: list[str]) -> list[dict]:
    every = max(1, math.ceil(len(xs) / MAX_X_LABELS))
    return [{"x": x, "text": name} for i, (x, name) in enumerate(zip(xs, names, strict=True))
            if i % every == 0]


def calls_chart(weeks: list[dict]) -> dict:
    """Grouped bars: planned, held and missed calls side by side for each week."""
    highest = max((w[s] for w in weeks for s in CALL_SERIES), default=0)
    ticks = nice_ticks(highest)
    group_w = PLOT_W / max(len(weeks), 1)
    bar_w = group_w * 0.8 / len(CALL_SERIES)
    bars, centres = [], []
    for i, week in enumerate(weeks):
        left = LEFT + i * group_w + group_w * 0.1
        centres.append(round(LEFT + (i + 0.5) * group_w, 1))
        for j, series in enumerate(CALL_SERIES):
            y = _y(week[series], ticks[-1])
            bars.append({"series": series, "week": week["week"], "value": week[series],
                         "x": round(left + j * bar_w, 1), "y": y,
                         "width": round(bar_w, 1), "height": round(TOP + PLOT_H - y, 1)})
    return {"width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT,
            "bottom": TOP + PLOT_H, "axis": _axis(ticks), "bars": bars,
            "x_labels": _x_labels(centres, [_week_number(w["week"]) for w in weeks]),
            "highest": highest, "empty": not highest}


def waiting_chart(points: list[dict]) -> dict:
    """A line of the waiting list at each week's end, broken where a value is suppressed."""
    shown = [p["waiting"] for p in points if p["waiting"] is not None]
    ticks = nice_ticks(max(shown, default=0))
    step = PLOT_W / max(len(points) - 1, 1)
    lines, line, dots, xs = [], [], [], []
    for i, point in enumerate(points):
        x = round(LEFT + i * step, 1) if len(points) > 1 else LEFT + PLOT_W / 2
        xs.append(x)
        if point["waiting"] is None:
            if line:
                lines.append(line)
            line = []
            continue
        y = _y(point["waiting"], ticks[-1])
        line.append(f"{x},{y}")
        dots.append({"x": x, "y": y, "value": point["waiting"], "date": point["date"]})
    if line:
        lines.append(line)
    return {"width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT,
            "bottom": TOP + PLOT_H, "axis": _axis(ticks),
            "lines": [" ".join(ln) for ln in lines if len(ln) > 1], "dots": dots,
            "x_labels": _x_labels(xs, [p["date"][5:] for p in points]),
            "highest": max(shown, default=None), "lowest": min(shown, default=None),
            "empty": not any(shown)}


def column(groups: dict[str, dict], measure: str) -> dict[str, int | None]:
    """One measure of every group of a breakdown: {"female": 812, "other": None, …}."""
    return {name: group[measure] for name, group in groups.items()}


def shares(groups: dict[str, int | None]) -> dict[str, float | None]:
    """Each group's share of the people shown (suppressed groups are left out of the whole)."""
    whole = sum(v for v in groups.values() if v is not None)
    return {name: (value / whole if whole else 0.0) if value is not None else None
            for name, value in groups.items()}


def share_chart(groups: dict[str, int | None]) -> dict:
    """Horizontal bars, one per group, as long as the group's share of those shown."""
    bar_area = SHARE_WIDTH - LABEL_W - 130
    rows = []
    for i, (name, share) in enumerate(shares(groups).items()):
        width = round(share * bar_area, 1) if share else 0
        rows.append({"name": name, "value": groups[name], "share": share,
                     "y": TOP + i * ROW_H, "x": LABEL_W, "width": width,
                     "text_x": LABEL_W + width + 8, "text_y": TOP + i * ROW_H + ROW_H * 0.6})
    return {"width": SHARE_WIDTH, "height": TOP * 2 + ROW_H * len(rows), "rows": rows,
            "bar_h": ROW_H - 8, "label_x": LABEL_W - 8,
            "empty": not any(r["value"] for r in rows)}
