"""ECharts options for the report's charts, built from the same figures as the tables
beside them. Tooltips are drawn on the canvas (renderMode richText): the page's CSP lets
no inline style through, which HTML tooltips would need."""

from training.reports.figures import Figures

COLORS = ["#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#dc3545", "#20c997"]


def _base(title: str) -> dict:
    return {
        "color": COLORS,
        "title": {"text": title, "left": "center", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis", "renderMode": "richText"},
        "grid": {"left": 48, "right": 16, "top": 40, "bottom": 60, "containLabel": True},
        "animation": False,
    }


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def rate_bars(title: str, items: list[tuple[str, Figures]]) -> dict:
    """Pass rate (and excellent rate) per label, in percent."""
    option = _base(title)
    option["legend"] = {"bottom": 0, "data": ["合格率", "优秀率"]}
    option["xAxis"] = {
        "type": "category",
        "data": [label for label, _ in items],
        "axisLabel": {
            "interval": 0,
            "rotate": 30 if len(items) > 4 else 0,
            "width": 90,
            "overflow": "truncate",
        },
    }
    option["yAxis"] = {"type": "value", "max": 100, "axisLabel": {"formatter": "{value}%"}}
    option["series"] = [
        {"name": "合格率", "type": "bar", "data": [_percent(f.pass_rate) for _, f in items]},
        {"name": "优秀率", "type": "bar", "data": [_percent(f.excellent_rate) for _, f in items]},
    ]
    return option


def rate_line(title: str, items: list[tuple[str, Figures]]) -> dict:
    option = rate_bars(title, items)
    for series in option["series"]:
        series["type"] = "line"
    return option


def count_bars(title: str, items: list[tuple[str, int]], name: str = "人数") -> dict:
    option = _base(title)
    option["xAxis"] = {
        "type": "category",
        "data": [label for label, _ in items],
        "axisLabel": {"interval": 0, "rotate": 30},
    }
    option["yAxis"] = {"type": "value", "minInterval": 1}
    option["series"] = [{"name": name, "type": "bar", "data": [count for _, count in items]}]
    return option


def funnel(title: str, steps: list[tuple[str, int]]) -> dict:
    option = _base(title)
    option["tooltip"] = {"trigger": "item", "renderMode": "richText"}
    option.pop("grid")
    top = max((count for _, count in steps), default=0) or 1
    option["series"] = [
        {
            "type": "funnel",
            "sort": "none",
            "top": 40,
            "bottom": 10,
            "min": 0,
            "max": top,
            # wide enough at the tip for its label
            "minSize": "30%",
            "label": {"position": "inside", "formatter": "{b}：{c}"},
            "data": [{"name": label, "value": count} for label, count in steps],
        }
    ]
    return option
