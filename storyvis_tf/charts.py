"""Small PNG charts drawn with PIL (the project does not depend on a plotting library): the
time-to-quality curve of `benchmarks.time_to_quality` and the study's figures.

`line_chart(series, x_label, y_label, title)` -> uint8 [h, w, 3]; series maps a name to
(xs, ys); each series gets its own colour, points joined by lines, and a legend.
`bar_chart(bars, title, reference)` -> uint8 [h, w, 3]; bars maps a name to its values (e.g.
one per seed): a horizontal bar at their mean, a whisker from the lowest to the highest, a dot
per value, and an optional dashed reference line (a baseline).
"""
import numpy as np
from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT, MARGIN = 640, 400, 56
PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    return [low + (high - low) * i / (count - 1) for i in range(count)]


def line_chart(series: dict[str, tuple[list[float], list[float]]], x_label: str, y_label: str,
               title: str = "", y_range: tuple[float, float] | None = None) -> np.ndarray:
    """A line chart of `series` (name -> (xs, ys)); y_range fixes the y axis (else the data's
    range). Returns the picture as uint8 [HEIGHT, WIDTH, 3]."""
    points = [(x, y) for xs, ys in series.values() for x, y in zip(xs, ys)]
    if not points:
        raise ValueError("line_chart: no points to draw")
    x_low, x_high = min(p[0] for p in points), max(p[0] for p in points)
    y_low, y_high = y_range or (min(p[1] for p in points), max(p[1] for p in points))
    x_high = x_high if x_high > x_low else x_low + 1
    y_high = y_high if y_high > y_low else y_low + 1
    picture = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=11)
    left, top, right, bottom = MARGIN, MARGIN // 2 + 8, WIDTH - MARGIN // 2, HEIGHT - MARGIN

    def place(x, y):
        return (left + (x - x_low) / (x_high - x_low) * (right - left),
                bottom - (y - y_low) / (y_high - y_low) * (bottom - top))

    draw.rectangle((left, top, right, bottom), outline="black")
    for value in _ticks(x_low, x_high):
        x, _ = place(value, y_low)
        draw.line((x, bottom, x, bottom + 4), fill="black")
        draw.text((x, bottom + 6), f"{value:.3g}", fill="black", font=font, anchor="mt")
    for value in _ticks(y_low, y_high):
        _, y = place(x_low, value)
        draw.line((left - 4, y, left, y), fill="black")
        draw.line((left, y, right, y), fill=(230, 230, 230))
        draw.text((left - 6, y), f"{value:.3g}", fill="black", font=font, anchor="rm")
    draw.text(((left + right) / 2, HEIGHT - 14), x_label, fill="black", font=font, anchor="mm")
    draw.text((6, top - 12), y_label, fill="black", font=font)
    draw.text(((left + right) / 2, 8), title, fill="black", font=font, anchor="mt")
    for index, (name, (xs, ys)) in enumerate(series.items()):
        colour = PALETTE[index % len(PALETTE)]
        placed = [place(x, y) for x, y in zip(xs, ys)]
        if len(placed) > 1:
            draw.line(placed, fill=colour, width=2)
        for x, y in placed:
            draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=colour)
        legend_y = top + 6 + 14 * index
        draw.line((right - 150, legend_y, right - 135, legend_y), fill=colour, width=2)
        draw.text((right - 130, legend_y), name, fill="black", font=font, anchor="lm")
    return np.asarray(picture)


def bar_chart(bars: dict[str, list[float]], title: str, reference: float | None = None,
              width: int = WIDTH) -> np.ndarray:
    """Horizontal bars, one per name in order (module docstring); a name without values is
    written "not computed". Returns the picture as uint8 [h, width, 3]."""
    name_width, bar_height, top = 150, 18, 28
    font = ImageFont.load_default(size=11)
    height = top + len(bars) * (bar_height + 6) + 24
    picture = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(picture)
    draw.text((8, 6), title, fill="black", font=font)
    extent = [0.0, *(v for values in bars.values() for v in values),
              *([reference] if reference is not None else [])]
    low, high = min(extent), max(extent)
    high = high if high - low > 1e-12 else low + 1.0   # all zero: any scale will do
    left, right, bottom = name_width, width - 50, height - 24

    def x(value):
        return left + (value - low) / (high - low) * (right - left)

    draw.line((x(0.0), top - 4, x(0.0), bottom), fill="black")
    for tick in sorted({low, 0.0, high}):
        draw.text((x(tick), bottom + 4), f"{tick:.3g}", fill="black", font=font, anchor="mt")
    for index, (name, values) in enumerate(bars.items()):
        bar_top = top + index * (bar_height + 6)
        middle = bar_top + bar_height / 2
        draw.text((left - 6, middle), name[:24], fill="black", font=font, anchor="rm")
        if not values:
            draw.text((left + 4, middle), "not computed", fill="grey", font=font, anchor="lm")
            continue
        mean = float(np.mean(values))
        draw.rectangle((x(min(0.0, mean)), bar_top, x(max(0.0, mean)), bar_top + bar_height),
                       fill=(158, 202, 225))
        draw.line((x(min(values)), middle, x(max(values)), middle), fill="black", width=2)
        for value in values:
            draw.ellipse((x(value) - 3, middle - 3, x(value) + 3, middle + 3), fill=PALETTE[0])
        draw.text((x(max(*values, mean)) + 6, middle), f"{mean:.3g}", fill="black", font=font,
                  anchor="lm")
    if reference is not None:
        for y in range(top - 4, bottom, 6):
            draw.line((x(reference), y, x(reference), y + 3), fill=PALETTE[3], width=2)
    return np.asarray(picture)
