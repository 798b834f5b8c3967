"""Plotly figures for the reports, SVG traces only.

WebGL traces (``scattergl`` and friends) need a GPU context that headless browsers and many remote
desktops do not give, and then draw nothing without an error; every trace here is plain SVG.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

STATUS_CODES = {"untested": None, "incompatible": 0.0, "partial": 0.5, "compatible": 1.0}
STATUS_TEXT = {"untested": "–", "incompatible": "✗", "partial": "◐", "compatible": "✓"}
MARK_STYLE = {
    "regression": dict(symbol="triangle-down", color="#d62728", size=13),
    "improvement": dict(symbol="triangle-up", color="#2ca02c", size=13),
    "outlier": dict(symbol="x", color="#ff7f0e", size=11),
}
_LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=50, b=60), height=420)


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


def grouped_bars(frame: pd.DataFrame, x: str, y: str, color: str, title: str, y_title: str) -> go.Figure:
    fig = go.Figure()
    for name, part in frame.groupby(color, sort=True):
        fig.add_trace(go.Bar(x=part[x], y=part[y], name=str(name)))
    fig.update_layout(**_LAYOUT, title=title, barmode="group", yaxis_title=y_title, legend_title=color)
    return fig


def trend(points: pd.DataFrame, marks: pd.DataFrame, title: str, y_title: str) -> go.Figure:
    """One line per series in run-time order; flagged runs drawn on top with a symbol per kind."""
    fig = go.Figure()
    for series, part in points.groupby("series", sort=True):
        fig.add_trace(go.Scatter(x=part["run_time"], y=part["value"], mode="lines+markers", name=str(series),
                                 marker=dict(size=5), customdata=part["run_id"],
                                 hovertemplate="%{x}<br>%{y:.4g}<br>run %{customdata}<extra>%{fullData.name}</extra>"))
    for kind, part in marks.groupby("kind", sort=True):
        style = MARK_STYLE.get(str(kind), dict(symbol="circle-open", color="#000000", size=12))
        fig.add_trace(go.Scatter(
            x=part["run_time"], y=part["value"], mode="markers", name=str(kind),
            marker=dict(symbol=style["symbol"], color=style["color"], size=style["size"],
                        line=dict(width=1, color="#000000")),
            text=part["series"], hovertemplate=f"{kind}<br>%{{text}}<br>%{{x}}: %{{y:.4g}}<extra></extra>",
        ))
    fig.update_layout(**_LAYOUT, title=title, yaxis_title=y_title, xaxis_title="run time (UTC)",
                      legend=dict(font=dict(size=10)))
    return fig


def pareto_scatter(recs: pd.DataFrame, title: str) -> go.Figure:
    """p99 latency against throughput for one comparison group; Pareto-optimal hardware filled, dominated hollow."""
    fig = go.Figure()
    for optimal, name, symbol in ((True, "Pareto-optimal", "circle"), (False, "dominated", "circle-open")):
        part = recs[recs["pareto_optimal"] == optimal]
        if part.empty:
            continue
        label = part["hardware"]
        fig.add_trace(go.Scatter(
            x=part["latency_p99_ms"], y=part["throughput_items_per_second"], mode="markers+text", name=name,
            text=label, textposition="top center", textfont=dict(size=9), marker=dict(size=11, symbol=symbol),
            customdata=part["topsis_score"],
            hovertemplate="%{text}<br>p99 %{x:.4g} ms<br>%{y:.4g} items/s<br>TOPSIS %{customdata:.3f}<extra></extra>",
        ))
    fig.update_layout(**_LAYOUT, title=title, xaxis_title="p99 latency (ms)",
                      yaxis_title="throughput (items/s)")
    return fig
