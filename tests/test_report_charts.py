"""The charts' geometry (vanringen/report_charts.py): bars and points where the data puts
them, and nothing broken for a period without data or with every value suppressed."""

import pytest

from vanringen import report_charts as charts

BOTTOM = charts.TOP + charts.PLOT_H


def week(n, planned, held, missed):
    return {"week": f"2026-W{n:02d}", "start": "2026-01-05", "planned": planned, "held": held,
            "missed": missed}


@pytest.mark.parametrize(("highest", "ticks"), [
    (0, [0, 1]), (1, [0, 1]), (3, [0, 1, 2, 3]), (4, [0, 1, 2, 3, 4]), (7, [0, 2, 4, 6, 8]),
    (40, [0, 10, 20, 30, 40]), (46, [0, 20, 40, 60]), (1234, [0, 500, 1000, 1500]),
])
def test_axis_ticks_are_round_and_reach_the_highest_value(highest, ticks):
    assert charts.nice_ticks(highest) == ticks


def test_calls_bars_stand_on_the_axis_as_high_as_their_value():
    chart = charts.calls_chart([week(1, 40, 30, 10), week(2, 20, 20, 0)])
    assert [t["value"] for t in chart["axis"]] == [0, 10, 20, 30, 40]
    bars = {(b["week"], b["series"]): b for b in chart["bars"]}
    assert len(bars) == 6
    for bar in chart["bars"]:
        assert bar["y"] + bar["height"] == pytest.approx(BOTTOM)
        assert bar["height"] == pytest.approx(bar["value"] / 40 * charts.PLOT_H, abs=0.1)
    assert bars["2026-W01", "planned"]["y"] == charts.TOP
    assert bars["2026-W02", "missed"]["height"] == 0
    # Side by side within the week, the weeks in order from the left.
    xs = [b["x"] for b in chart["bars"]]
    assert xs == sorted(xs) and xs[0] >= charts.LEFT and xs[-1] < chart["right"]
    assert [label["text"] for label in chart["x_labels"]] == ["1", "2"]
    assert chart["highest"] == 40 and not chart["empty"]


def test_a_year_of_weeks_labels_about_every_fourth_week():
    chart = charts.calls_chart([week(n, 1, 1, 0) for n in range(1, 54)])
    assert len(chart["bars"]) == 53 * 3
    assert [label["text"] for label in chart["x_labels"]][:3] == ["1", "6", "11"]
    assert len(chart["x_labels"]) <= charts.MAX_X_LABELS


def test_no_weeks_and_no_calls_draw_an_empty_chart():
    empty = charts.calls_chart([])
    assert empty["bars"] == [] and empty["x_labels"] == [] and empty["empty"]
    assert [t["value"] for t in empty["axis"]] == [0, 1]
    quiet = charts.calls_chart([week(1, 0, 0, 0)])
    assert {b["height"] for b in quiet["bars"]} == {0} and quiet["empty"]


def test_the_waiting_line_breaks_where_a_value_is_suppressed():
    points = [{"date": f"2026-01-{d:02d}", "waiting": w}
              for d, w in ((4, 10), (11, 20), (18, None), (25, 5), (31, 10))]
    chart = charts.waiting_chart(points)
    assert [t["value"] for t in chart["axis"]] == [0, 5, 10, 15, 20]
    assert [d["value"] for d in chart["dots"]] == [10, 20, 5, 10]
    assert len(chart["lines"]) == 2
    first, second = ([tuple(float(n) for n in xy.split(",")) for xy in line.split()]
                     for line in chart["lines"])
    assert first == [(charts.LEFT, BOTTOM - charts.PLOT_H / 2),
                     (charts.LEFT + charts.PLOT_W / 4, charts.TOP)]
    assert len(second) == 2 and second[-1] == (chart["right"], BOTTOM - charts.PLOT_H / 2)
    assert (chart["lowest"], chart["highest"]) == (5, 20)


def test_a_waiting_list_all_suppressed_or_empty_draws_no_line():
    hidden = charts.waiting_chart([{"date": "2026-01-04", "waiting": None}] * 3)
    assert hidden["lines"] == [] and hidden["dots"] == [] and hidden["empty"]
    assert len(hidden["x_labels"]) == 3
    assert charts.waiting_chart([])["empty"]
    # A single point is a dot, not a line.
    one = charts.waiting_chart([{"date": "2026-01-04", "waiting": 3}])
    assert one["lines"] == [] and len(one["dots"]) == 1


def test_gender_bars_are_shares_of_the_people_shown():
    groups = {"female": 60, "male": 30, "other": None, "unknown": 10}
    assert charts.shares(groups) == {"female": 0.6, "male": 0.3, "other": None, "unknown": 0.1}
    chart = charts.share_chart(groups)
    rows = {r["name"]: r for r in chart["rows"]}
    assert rows["female"]["width"] == pytest.approx(2 * rows["male"]["width"])
    assert rows["other"]["width"] == 0 and rows["other"]["value"] is None
    assert [r["y"] for r in chart["rows"]] == sorted(r["y"] for r in chart["rows"])
    assert not chart["empty"]


def test_gender_chart_with_nobody_or_everybody_suppressed():
    for groups in ({"female": 0, "male": 0}, {"female": None, "male": None}):
        chart = charts.share_chart(groups)
        assert chart["empty"] and all(r["width"] == 0 for r in chart["rows"])
    assert charts.shares({"female": 0, "male": None}) == {"female": 0.0, "male": None}


def test_column_picks_one_measure_of_every_group():
    table = {"female": {"participants": 6, "reached": None}, "male": {"participants": 5,
                                                                      "reached": 0}}
    assert charts.column(table, "reached") == {"female": None, "male": 0}
