"""The SVG chart module on its own: proportions, zeros, empty data, escaping, text
alternatives, and labels that stay apart inside the viewBox."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from markupsafe import Markup

from webadmin import charts

HEADERS = ("Week of", "Files published")


def parse(markup: Markup) -> ET.Element:
    """The figure as XML: also proves the markup is well formed."""
    return ET.fromstring(str(markup))


def bars(figure: ET.Element) -> list[ET.Element]:
    return [r for r in figure.iter("rect") if r.get("class", "").startswith("bar")]


def table(figure: ET.Element) -> list[tuple[str, str]]:
    rows = figure.find("details/table/tbody")
    assert rows is not None
    return [(r.find("th").text, r.find("td").text) for r in rows]


def week_chart(points):
    return charts.columns("c", "Per week", "summary", points, HEADERS, "No publishes yet.")


def test_column_heights_are_proportional_and_zero_weeks_stay():
    figure = parse(week_chart([("a", 1), ("b", 0), ("c", 2), ("d", 4), ("e", 0)]))
    heights = [float(r.get("height")) for r in bars(figure)]
    assert len(heights) == 5
    assert heights[1] == heights[4] == 0
    assert heights[2] == 2 * heights[0]
    assert heights[3] == 4 * heights[0]
    bottoms = {round(float(r.get("y")) + float(r.get("height")), 2) for r in bars(figure)}
    assert len(bottoms) == 1  # every bar stands on the same baseline
    assert table(figure) == [("a", "1"), ("b", "0"), ("c", "2"), ("d", "4"), ("e", "0")]


def test_no_value_above_zero_says_so_instead_of_a_chart():
    for points in ([], [("a", 0), ("b", 0)]):
        markup = str(week_chart(points))
        assert markup == '<p class="chart-empty">No publishes yet.</p>'
    assert "<svg" not in str(charts.rows("s", "t", "s", [], HEADERS, "Nothing stored yet."))


def test_names_are_escaped_everywhere():
    name = '<script>alert(1)</script> & "q"'
    markup = str(
        charts.rows("s", f"T {name}", f"D {name}", [(name, 5), ("b", 1)], HEADERS, "empty")
    )
    assert "<script>" not in markup
    figure = parse(Markup(markup))  # escaped text parses back to the very name
    names = [t.text for t in figure.iter("text") if t.get("class") == "name"]
    assert names == [name, "b"]
    assert figure.find("svg/title").text == f"T {name}"
    assert figure.find("svg/desc").text == f"D {name}"
    assert table(figure)[0] == (name, "5")


def test_svg_is_an_image_named_by_its_title_and_description():
    figure = parse(charts.rows("store", "Title", "Summary", [("x", 3)], HEADERS, "e"))
    svg = figure.find("svg")
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "store-title store-desc"
    assert svg.find("title").get("id") == "store-title"
    assert svg.find("desc").get("id") == "store-desc"
    assert svg.get("width") == "100%"
    assert svg.get("viewBox").startswith("0 0 320 ")
    assert "style" not in str(charts.rows("store", "T", "S", [("x", 3)], HEADERS, "e"))
    assert figure.find("details/table/caption").text == "Title"


def test_rows_are_proportional_and_the_rest_is_muted():
    points = [("big", 400), ("mid", 100), ("3 other projects", 50)]
    figure = parse(charts.rows("s", "t", "d", points, HEADERS, "e", muted_last=True))
    widths = [float(r.get("width")) for r in bars(figure)]
    assert widths[0] == charts.WIDTH
    assert widths[1] == widths[0] / 4
    assert widths[2] == widths[0] / 8
    assert [r.get("class") for r in bars(figure)] == ["bar", "bar", "bar rest"]


def test_long_names_are_cut_in_the_drawing_but_whole_in_the_table():
    name = "a-very-long-project-name-that-goes-on-and-on-forever"
    figure = parse(charts.rows("s", "t", "d", [(name, 1)], HEADERS, "e"))
    drawn = next(t.text for t in figure.iter("text") if t.get("class") == "name")
    assert drawn.endswith("…")
    assert len(drawn) == charts.NAME_CHARS
    assert table(figure) == [(name, "1")]


def test_uncounted_weeks_are_marked_not_drawn_as_zero():
    points = [(f"w{i}", None) for i in range(8)] + [("b", 2), ("c", 1)]
    figure = parse(week_chart(points))
    assert len(bars(figure)) == 2
    bands = [r for r in figure.iter("rect") if r.get("class") == "unknown"]
    assert len(bands) == 1  # one band over the run of eight
    assert float(bands[0].get("width")) > 7 * float(bars(figure)[0].get("width"))
    assert "not counted" in [t.text for t in figure.iter("text")]
    assert table(figure)[0] == ("w0", "not counted")


def test_axis_labels_of_26_weeks_stay_apart_and_inside():
    points = [(f"Sep {i + 1}", i % 7) for i in range(26)]
    figure = parse(week_chart(points))
    labels = [t for t in figure.iter("text") if t.text and t.text.startswith("Sep")]
    assert 4 <= len(labels) < 26
    assert labels[-1].text == "Sep 26"  # the current week is always labelled
    spans = []
    for t in labels:
        width = len(t.text) * charts.CHAR
        x = float(t.get("x"))
        start = {"start": x, "middle": x - width / 2, "end": x - width}[t.get("text-anchor")]
        spans.append((start, start + width))
    assert all(a >= 0 and b <= charts.WIDTH for a, b in spans)
    assert all(spans[i][1] < spans[i + 1][0] for i in range(len(spans) - 1))


def test_ticks_are_round_and_reach_the_peak():
    assert charts._ticks(1) == [0, 1]
    assert charts._ticks(3) == [0, 1, 2, 3]
    assert charts._ticks(7) == [0, 2, 4, 6, 8]
    assert charts._ticks(12) == [0, 5, 10, 15]
    assert charts._ticks(999) == [0, 500, 1000]
