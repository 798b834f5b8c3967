"""Plotly figures for the reports, SVG traces only.

WebGL traces (``scattergl`` and friends) need a GPU context that headless browsers and many remote
desktops do not give, and then draw nothing without an error; every trace here is plain SVG.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

STATUS_CODES = {"untested": None, "incompatible": 0.0, "partial": 0.5, "compatible": 1.0}
STATUS_TEXT = {"untested": "–", "incompatible": "✗", "partial": "◐", "compatible": "✓"}
MARK_STYLE = {
    "regression": dict(symbol="triangle-down", color="#d62728", size=13),
    "improvement": dict(symbol="triangle-up", color="#2ca02c", size=13),
    "outlier": dict(symbol="x", color="#ff7f0e", size=11),
}
_LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=60, b=60), height=420)
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
           "#d62728", "#aec7e8", "#ffbb78")
LINE_COLOR = "#1f77b4"


def compatibility_heatmap(matrix: pd.DataFrame) -> go.Figure:
    """Subjects (models, then families) down, hardware types across; colour = share of compatible tests."""
    frame = matrix.copy()
    frame["label"] = frame["subject"] + frame["level"].map({"family": " (family)", "model": ""})
    order = list(dict.fromkeys(frame["label"]))
    hardware = sorted(frame["hardware_type"].unique())
    score = frame.pivot(index="label", columns="hardware_type", values="score").reindex(index=order, columns=hardware)
    status = frame.pivot(index="label", columns="hardware_type", values="status").reindex(index=order, columns=hardware)
    text = status.apply(lambda col: col.map(lambda s: STATUS_TEXT.get(s, "")))
    fig = go.Figure(go.Heatmap(
        z=score.to_numpy(dtype="float64"), x=hardware, y=order, text=text.to_numpy(), texttemplate="%{text}",
        customdata=status.to_numpy(), zmin=0, zmax=1,
        colorscale=[[0, "#d62728"], [0.5, "#ffbf00"], [1, "#2ca02c"]],
        colorbar=dict(title="score"), xgap=2, ygap=2,
        hovertemplate="%{y} on %{x}<br>%{customdata}<br>score %{z:.0%}<extra></extra>",
    ))
    fig.update_layout(**_LAYOUT, title="Compatibility (– untested)", plot_bgcolor="#e8e8e8")
    fig.update_layout(height=max(300, 28 * len(order) + 140))
    fig.update_yaxes(autorange="reversed")
    return fig


def colors_for(values) -> dict[str, str]:
    """A stable colour per value, the same in every facet of a figure."""
    return {str(v): PALETTE[i % len(PALETTE)] for i, v in enumerate(dict.fromkeys(str(v) for v in values))}


def _grid(count: int, columns: int) -> tuple[int, int]:
    columns = max(1, min(columns, count))
    return math.ceil(count / columns), columns


def _subplots(titles: list[str], columns: int, row_height: int, **kwargs) -> go.Figure:
    rows, cols = _grid(len(titles), columns)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.07 if cols > 1 else 0.0,
                        vertical_spacing=min(0.12, 0.35 / rows) if rows > 1 else 0.0, **kwargs)
    fig.update_annotations(font_size=12)
    fig.update_layout(**{**_LAYOUT, "height": rows * row_height + 130, "margin": dict(l=60, r=20, t=90, b=50)})
    return fig


def _top_legend(fig: go.Figure) -> dict:
    """A horizontal legend in the top margin, right-aligned, under the tool bar and above the panel titles."""
    return dict(orientation="h", yref="container", y=1 - 34 / (fig.layout.height or 450), yanchor="top",
                x=1, xanchor="right")


def faceted_bars(frame: pd.DataFrame, facet: str, x: str, y: str, color: str, title: str, y_title: str,
                 columns: int = 3, log_y: bool = False) -> go.Figure:
    """One small bar chart per ``facet`` value: categories ``x`` across, one bar per ``color`` value side by side.

    Every bar is one row of ``frame``: a (facet, x, color) combination that occurs twice would be
    drawn on top of (or, stacked, added to) another, so it is refused rather than drawn.
    """
    duplicated = frame.duplicated([facet, x, color], keep=False)
    if duplicated.any():
        first = frame.loc[duplicated, [facet, x, color]].iloc[0].tolist()
        raise ValueError(f"two rows for one bar {first}: the bar's category must include what tells them apart")
    facets = list(dict.fromkeys(frame[facet].astype(str)))
    fig = _subplots(facets, columns, 300)
    colors = colors_for(frame[color].astype(str).sort_values())
    shown: set[str] = set()
    _rows, cols = _grid(len(facets), columns)
    for index, name in enumerate(facets):
        part = frame[frame[facet].astype(str) == name]
        order = list(dict.fromkeys(part[x].astype(str)))
        for series, bars in part.groupby(part[color].astype(str), sort=True):
            fig.add_trace(go.Bar(
                x=bars[x].astype(str), y=bars[y], name=series, legendgroup=series, showlegend=series not in shown,
                marker_color=colors[series], hovertemplate=f"{series}<br>%{{x}}: %{{y:.4g}} {y_title}<extra>{name}</extra>",
            ), row=index // cols + 1, col=index % cols + 1)
            shown.add(series)
        fig.update_xaxes(categoryorder="array", categoryarray=order, row=index // cols + 1, col=index % cols + 1)
    fig.update_yaxes(type="log" if log_y else "linear", title_text=None)
    fig.update_yaxes(title_text=y_title, col=1)
    fig.update_layout(title=dict(text=title, y=0.99, yanchor="top", yref="container"), barmode="group",
                      bargap=0.2, bargroupgap=0.05, legend_title=color.replace("_", " "))
    return fig


def trend_grid(points: pd.DataFrame, marks: pd.DataFrame, order: list[str], title: str, y_title: str,
               columns: int = 2) -> go.Figure:
    """One small line chart per series (in ``order``), each on its own y scale; flagged runs marked on top.

    Separate panels, because series of one metric differ by orders of magnitude: on a shared axis
    a 20 % drop of a slow series is a flat line at the bottom.
    """
    fig = _subplots(order, columns, 240)
    _rows, cols = _grid(len(order), columns)
    shown: set[str] = set()
    for index, series in enumerate(order):
        row, col = index // cols + 1, index % cols + 1
        part = points[points["series"] == series]
        fig.add_trace(go.Scatter(x=part["run_time"], y=part["value"], mode="lines+markers", name=series,
                                 showlegend=False, line=dict(color=LINE_COLOR, width=1.5), marker=dict(size=4),
                                 customdata=part["run_id"],
                                 hovertemplate="%{x}<br>%{y:.4g}<br>run %{customdata}<extra></extra>"),
                      row=row, col=col)
        flagged = marks[marks["series"] == series] if not marks.empty else marks
        for kind, hits in flagged.groupby("kind", sort=True):
            style = MARK_STYLE.get(str(kind), dict(symbol="circle-open", color="#000000", size=12))
            fig.add_trace(go.Scatter(
                x=hits["run_time"], y=hits["value"], mode="markers", name=str(kind), legendgroup=str(kind),
                showlegend=str(kind) not in shown,
                marker=dict(symbol=style["symbol"], color=style["color"], size=style["size"],
                            line=dict(width=1, color="#000000")),
                text=hits["series"], hovertemplate=f"{kind}<br>%{{x}}: %{{y:.4g}}<extra></extra>",
            ), row=row, col=col)
            shown.add(str(kind))
        fig.update_yaxes(title_text=y_title if col == 1 else None, row=row, col=col)
    fig.update_layout(title=dict(text=title, y=0.99, yanchor="top", yref="container"), legend=_top_legend(fig))
    return fig


BAND_FILL = "rgba(31, 119, 180, 0.13)"
LEVEL_COLOR = "#555555"


def flag_grid(panels: list, title: str, columns: int = 2) -> go.Figure:
    """One small chart per flagged series (``flag_review.FlagPanel``): its runs, the noise band, the change.

    The band (shaded, across the whole panel) is the level before ± the floor detection judged the
    flag by, so the runs after a real change sit outside it; dashed = the level before, dotted = the
    level after, a dotted vertical line at the flagged run. The flagged run carries the trend charts'
    mark (filled when confirmed, hollow when suspected); the series' other flags are marked too.
    """
    fig = _subplots([_panel_title(p) for p in panels], columns, 250)
    _rows, cols = _grid(len(panels), columns)
    shown: set[str] = set()

    def legend(name: str) -> bool:
        first = name not in shown
        shown.add(name)
        return first

    for index, panel in enumerate(panels):
        row, col = index // cols + 1, index % cols + 1
        points = panel.points
        if points.empty:
            continue
        start, end = points["run_time"].min(), points["run_time"].max()
        band = panel.band
        if band is not None:
            low, high = band
            fig.add_trace(go.Scatter(
                x=[start, end, end, start, start], y=[low, low, high, high, low], mode="lines", fill="toself",
                fillcolor=BAND_FILL, line=dict(width=0), name="noise band", legendgroup="noise band",
                showlegend=legend("noise band"),
                hovertemplate=f"noise band {low:.4g} – {high:.4g} ({panel.rule})<extra></extra>",
            ), row=row, col=col)
        fig.add_trace(go.Scatter(
            x=points["run_time"], y=points["value"], mode="lines+markers", name="runs", legendgroup="runs",
            showlegend=legend("runs"), line=dict(color=LINE_COLOR, width=1.5), marker=dict(size=4),
            customdata=points["run_id"], hovertemplate="%{x}<br>%{y:.4g}<br>run %{customdata}<extra></extra>",
        ), row=row, col=col)
        change = panel.change_time
        if panel.level_before is not None and panel.before_start is not None:
            # An outlier sits inside its regime: the level it is judged against goes on after it.
            until = panel.after_end if panel.kind == "outlier" and panel.after_end is not None else change
            fig.add_trace(go.Scatter(
                x=[panel.before_start, until], y=[panel.level_before] * 2, mode="lines", name="level before",
                legendgroup="level before", showlegend=legend("level before"),
                line=dict(color=LEVEL_COLOR, width=1.5, dash="dash"),
                hovertemplate=f"level before {panel.level_before:.4g}<extra></extra>",
            ), row=row, col=col)
        if panel.kind != "outlier" and panel.level_after is not None and panel.after_end is not None:
            color = MARK_STYLE.get(panel.kind, {}).get("color", LEVEL_COLOR)
            fig.add_trace(go.Scatter(
                x=[change, panel.after_end], y=[panel.level_after] * 2, mode="lines", name="level after",
                legendgroup="level after", showlegend=legend("level after"),
                line=dict(color=color, width=1.5, dash="dot"),
                hovertemplate=f"level after {panel.level_after:.4g}<extra></extra>",
            ), row=row, col=col)
        fig.add_vline(x=change, line=dict(color="#999999", width=1, dash="dot"), row=row, col=col)
        marks = panel.marks if "kind" in panel.marks else pd.DataFrame(columns=["kind"])
        for kind, hits in marks.groupby("kind", sort=True):
            style = MARK_STYLE.get(str(kind), dict(symbol="circle-open", color="#000000", size=12))
            fig.add_trace(go.Scatter(
                x=hits["run_time"], y=hits["value"], mode="markers", name=str(kind), legendgroup=str(kind),
                showlegend=legend(str(kind)),
                marker=dict(symbol=style["symbol"], color=style["color"], size=style["size"] - 3,
                            line=dict(width=1, color="#000000")),
                hovertemplate=f"other flag: {kind}<br>%{{x}}: %{{y:.4g}}<extra></extra>",
            ), row=row, col=col)
        value = panel.flagged_value
        if value is not None:
            style = MARK_STYLE.get(panel.kind, dict(symbol="circle", color="#000000", size=12))
            suspected = panel.confirmation == "suspected"
            name = f"{panel.kind} (suspected)" if suspected else panel.kind
            fig.add_trace(go.Scatter(
                x=[change], y=[value], mode="markers", name=name, legendgroup=name, showlegend=legend(name),
                marker=dict(symbol=style["symbol"] + ("-open" if suspected else ""), color=style["color"],
                            size=style["size"], line=dict(width=1.5 if suspected else 1,
                                                          color=style["color"] if suspected else "#000000")),
                hovertemplate=f"{panel.label}<br>%{{x}}: %{{y:.4g}}<extra></extra>",
            ), row=row, col=col)
        fig.update_yaxes(title_text=panel.unit if col == 1 else None, row=row, col=col)
    fig.update_layout(title=dict(text=title, y=0.99, yanchor="top", yref="container"), legend=_top_legend(fig))
    return fig


def _panel_title(panel) -> str:
    """Two lines: the series and metric, then the flag and its size."""
    size = panel.pct_change
    multiple = panel.noise_multiple
    change = "" if size is None else f" {size:+.1f}%".replace("-", "−")
    if multiple is not None:
        change += f" ({abs(multiple):.3g}× noise)"
    return f"{panel.series} · {panel.metric_label}<br>{panel.label}{change}"


def short_hardware(label: str) -> str:
    """'cuda: NVIDIA A100-SXM4-80GB' -> 'A100-SXM4-80GB (cuda)' is too long for a point label; keep the device."""
    kind, _, device = str(label).partition(": ")
    if not device:
        return kind
    for vendor in ("NVIDIA GeForce ", "NVIDIA ", "AMD Instinct ", "AMD ", "Intel Xeon ", "Intel ", "Apple "):
        if device.startswith(vendor):
            device = device[len(vendor):]
            break
    return f"{device} ({kind})" if kind in ("openvino",) else device


def pareto_grid(groups: list[tuple[str, pd.DataFrame]], title: str, columns: int = 3) -> go.Figure:
    """p99 latency against throughput, one panel per comparison group, both axes logarithmic.

    Pareto-optimal hardware is filled, dominated hardware hollow; every point is labelled and the
    labels may run past the plot area (``cliponaxis=False``) instead of being cut off.
    """
    fig = _subplots([name for name, _ in groups], columns, 330)
    _rows, cols = _grid(len(groups), columns)
    shown: set[str] = set()
    for index, (_name, recs) in enumerate(groups):
        row, col = index // cols + 1, index % cols + 1
        recs = recs.sort_values("throughput_items_per_second", ascending=False)
        recs = recs.assign(_label=[("top center", "bottom center", "middle right")[i % 3] for i in range(len(recs))])
        for optimal, name, symbol, color in ((True, "Pareto-optimal", "circle", "#1f77b4"),
                                             (False, "dominated", "circle-open", "#7f7f7f")):
            part = recs[recs["pareto_optimal"] == optimal]
            if part.empty:
                continue
            fig.add_trace(go.Scatter(
                x=part["latency_p99_ms"], y=part["throughput_items_per_second"], mode="markers+text", name=name,
                legendgroup=name, showlegend=name not in shown, text=[short_hardware(h) for h in part["hardware"]],
                textposition=part["_label"].tolist(), textfont=dict(size=10), cliponaxis=False,
                marker=dict(size=10, symbol=symbol, color=color, line=dict(width=1.5, color=color)),
                customdata=part[["hardware", "topsis_score"]].to_numpy(dtype=object),
                hovertemplate="%{customdata[0]}<br>p99 %{x:.4g} ms<br>%{y:.4g} items/s"
                              "<br>TOPSIS %{customdata[1]:.3f}<extra></extra>",
            ), row=row, col=col)
            shown.add(name)
        fig.update_xaxes(type="log", dtick="D2", minorloglabels="complete", title_text="p99 latency (ms)",
                         row=row, col=col)
        fig.update_yaxes(type="log", dtick="D2", minorloglabels="complete",
                         title_text="items/s" if col == 1 else None, row=row, col=col)
        _pad_log_range(fig, recs, row, col)
    fig.update_layout(title=dict(text=title, y=0.99, yanchor="top", yref="container"), legend=_top_legend(fig))
    return fig


def _pad_log_range(fig: go.Figure, recs: pd.DataFrame, row: int, col: int) -> None:
    """Room around the points so their labels stay inside the panel (log axes take ranges in log10)."""
    for column, update, low_pad, top in (("latency_p99_ms", fig.update_xaxes, 0.3, 0.3),
                                         ("throughput_items_per_second", fig.update_yaxes, 0.2, 0.2)):
        values = recs[column].dropna()
        values = values[values > 0]
        if values.empty:
            continue
        low, high = math.log10(values.min()), math.log10(values.max())
        span = max(high - low, 0.3)
        update(range=[low - low_pad * span, high + top * span], row=row, col=col)


def serving_pareto(points: pd.DataFrame, hover: list[str], marks: list[str], title: str) -> go.Figure:
    """Output tokens/s per GPU against output tokens/s per user, a colour per model, the front filled and joined.

    Both axes are more-is-better, so the front is the upper-right edge: the load points no other beats on both.
    Only front points carry a label (``marks``): a label per point turns a sweep of concurrencies into a smear.
    The per-GPU axis is logarithmic, because one L4 and one H100 differ tenfold and the L4's trade-off would
    otherwise be a flat line at the bottom.
    """
    frame = points.assign(_hover=hover, _mark=marks).sort_values("user_tokens_per_s")
    colors = colors_for(sorted(frame["model_name"].astype(str).unique()))
    fig = go.Figure()
    for model, part in frame.groupby(frame["model_name"].astype(str), sort=True):
        fig.add_trace(go.Scatter(
            x=part["user_tokens_per_s"], y=part["output_tokens_per_s_per_gpu"], mode="markers", name=model,
            marker=dict(size=10, color=colors[model], symbol=["circle" if f else "circle-open" for f in part["on_front"]],
                        line=dict(width=1.5, color=colors[model])),
            customdata=part[["_hover", "usd_per_million_output_tokens"]].to_numpy(dtype=object),
            hovertemplate="%{customdata[0]}<br>%{x:.4g} tokens/s per user<br>%{y:.4g} tokens/s per GPU"
                          "<br>$%{customdata[1]:.4g} per million output tokens<extra></extra>",
        ))
    front = frame[frame["on_front"].astype(bool)]
    # Neighbours on a front are often one configuration twice (two framework versions): one label each, above
    # and below in turn, so they do not print over one another.
    seen: set[str] = set()
    text = []
    for mark in front["_mark"]:
        text.append("" if mark in seen else mark)
        seen.add(mark)
    fig.add_trace(go.Scatter(
        x=front["user_tokens_per_s"], y=front["output_tokens_per_s_per_gpu"], mode="lines+text", name="Pareto front",
        line=dict(color="#333333", width=1.2, dash="dash"), text=text,
        textposition=[("top right", "bottom left")[i % 2] for i in range(len(front))],
        textfont=dict(size=10), cliponaxis=False, hoverinfo="skip",
    ))
    fig.update_layout(**_LAYOUT, title=title, legend=dict(orientation="h", y=-0.2))
    fig.update_xaxes(title_text="output tokens/s per user (higher is better)")
    fig.update_yaxes(title_text="output tokens/s per GPU (higher is better)", type="log", dtick="D2")
    # Room for the labels of the points at the edges (a log axis takes its range in log10).
    x, y = frame["user_tokens_per_s"].astype(float), frame["output_tokens_per_s_per_gpu"].astype(float)
    x_pad = max(float(x.max() - x.min()), float(x.max()) * 0.2) * 0.12
    fig.update_xaxes(range=[max(0.0, float(x.min()) - x_pad), float(x.max()) + x_pad])
    low, high = math.log10(float(y[y > 0].min())), math.log10(float(y[y > 0].max()))
    y_pad = max(high - low, 0.3) * 0.15
    fig.update_yaxes(range=[low - y_pad, high + y_pad])
    return fig
