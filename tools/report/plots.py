"""The report's figures, one function per PNG. Each takes the newest run of every case and the
output folder and returns the file name it wrote, or None when the runs hold nothing to draw."""
import math
import os

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator  # noqa: E402

import formatting as fmt  # noqa: E402
from grouping import group_series, series_attrs  # noqa: E402

DPI = 110
COLOURS = plt.get_cmap("tab10").colors
MARKERS = "osD^v<>pXh"
LINESTYLES = ["-", "--", ":", "-."]


def _styles(series):
    """Line styles for [(label, runs)]: one colour and marker per configuration, one line style per
    ring size, so the same layout/mask keeps its colour across ring sizes."""
    configs, sizes = [], sorted({rs[0].world_size for _, rs in series})
    styles = []
    for label, rs in series:
        config = tuple(v for k, v in series_attrs(rs[0]).items() if k != "ranks")
        if config not in configs:
            configs.append(config)
        n = configs.index(config)
        styles.append(dict(color=COLOURS[n % 10], marker=MARKERS[n % len(MARKERS)],
                           ls=LINESTYLES[sizes.index(rs[0].world_size) % len(LINESTYLES)], label=label))
    return styles


def _log_y(ax, formatter=None):
    """Log y axis labelled 1, 2, 5, 10, 20, ... in plain numbers."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(formatter or (lambda y, _: f"{y:g}")))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _style(ax, title, ylabel, xlabel="sequence length (tokens)"):
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.12)


def _seq_axis(ax, runs):
    """log2 sequence axis with a tick at every length measured, written like the options (4K)."""
    lengths = sorted({r.seq_len for r in runs})
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(lengths))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: fmt.tokens(x) if x >= 1 else ""))
    if len(lengths) == 1:
        ax.set_xlim(lengths[0] / 1.5, lengths[0] * 1.5)


def _save(fig, out_dir, name):
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, name), dpi=DPI)
    plt.close(fig)
    return name


def _legend(ax, n):
    ax.legend(fontsize=8, loc="best", ncol=2 if n > 6 else 1, framealpha=0.85)


def _slope(xs, ys):
    """Least-squares slope of log y over log x (the measured scaling exponent)."""
    if len(xs) < 2:
        return None
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def time_vs_seq(runs, out_dir):
    series = group_series(runs)
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(10, 6))
    for (label, rs), style in zip(series, _styles(series)):
        xs = np.array([r.seq_len for r in rs], dtype=float)
        ys = np.array([r.s("median_ms") for r in rs])
        lo = np.maximum(ys - np.array([r.s("min_ms") for r in rs]), 0)
        hi = np.maximum(np.array([r.s("max_ms") for r in rs]) - ys, 0)
        slope = _slope(xs, ys)
        style["label"] = label + (f"  (slope {slope:.2f})" if slope is not None else "")
        ax.errorbar(xs, ys, yerr=[lo, hi], capsize=3, **style)
    # The O(S^2) guide through the first point of the longest series: attention's FLOPs grow with
    # S^2, so lines parallel to it mean the ring adds no cost that grows faster.
    longest = max(series, key=lambda s: len(s[1]))[1]
    lengths = np.array(sorted({r.seq_len for r in runs}), dtype=float)
    if len(lengths) > 1:
        x0, y0 = longest[0].seq_len, longest[0].s("median_ms")
        ax.plot(lengths, y0 * (lengths / x0) ** 2, color="k", ls=(0, (6, 3)), lw=1.6, alpha=0.55,
                label="O(S²) guide (slope 2)")
    _log_y(ax)
    _seq_axis(ax, runs)
    _style(ax, "Iteration time vs sequence length (median, bars: min–max over iterations)",
           "time per iteration (ms, slowest rank)")
    _legend(ax, len(series) + 1)
    return _save(fig, out_dir, "time_vs_seq.png")


def throughput_vs_seq(runs, out_dir):
    series = group_series(runs)
    if not series:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5))
    for (label, rs), style in zip(series, _styles(series)):
        xs = [r.seq_len for r in rs]
        left.plot(xs, [r.s("tflops_per_rank") for r in rs], **style)
        right.plot(xs, [r.s("tokens_per_s") for r in rs], **style)
    for ax in (left, right):
        _seq_axis(ax, runs)
    _style(left, "Compute throughput per GPU (rank)", "TFLOP/s per rank")
    left.set_ylim(bottom=0)
    _style(right, "Tokens per second (whole ring)", "tokens/s")
    _log_y(right, lambda y, _: fmt.rate(y))
    _legend(left, len(series))
    return _save(fig, out_dir, "throughput_vs_seq.png")


def memory_vs_seq(runs, out_dir):
    # Memory does not depend on mask or layout: one line per ring size and head shape.
    series = group_series(runs, without=("layout", "mask"))
    if not series or not any(math.isfinite(r.s("peak_mem_bytes")) for r in runs):
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5))
    for (label, rs), style in zip(series, _styles(series)):
        xs = [r.seq_len for r in rs]
        left.plot(xs, [r.s("peak_mem_bytes") / 2**20 for r in rs], **style)
        right.plot(xs, [r.s("bytes_per_token") / 2**10 for r in rs], **style)
    for ax in (left, right):
        _seq_axis(ax, runs)
    _style(left, "Peak memory per rank (buffers ringbench allocates)", "MiB per rank")
    _log_y(left)
    _style(right, "Memory per local token", "KiB per token per rank")
    right.set_ylim(bottom=0, top=max(r.s("bytes_per_token") for r in runs) / 2**10 * 1.2)
    _legend(left, len(series))
    return _save(fig, out_dir, "memory_vs_seq.png")


def exposed_comm_vs_seq(runs, out_dir):
    ring_runs = [r for r in runs if r.world_size > 1]
    series = group_series(ring_runs)
    if not series:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5))
    worst = 0.0
    for (label, rs), style in zip(series, _styles(series)):
        xs = [r.seq_len for r in rs]
        exposed = [100 * r.s("exposed_comm_fraction") for r in rs]
        worst = max(worst, max(exposed))
        left.plot(xs, exposed, **style)
        right.plot(xs, [r.s("comm_ms") / r.s("compute_ms") if r.s("compute_ms") > 0 else float("nan")
                        for r in rs], **style)
    for ax in (left, right):
        _seq_axis(ax, ring_runs)
    _style(left, "Exposed communication (compute waiting for the next block)", "share of iteration time (%)")
    left.set_ylim(0, max(5.0, worst * 1.15))
    _style(right, "Transfer time / compute time per iteration", "ratio (above 1: cannot be hidden)")
    _log_y(right)
    right.axhline(1.0, color="k", ls="--", lw=1, alpha=0.6)
    _legend(left, len(series))
    return _save(fig, out_dir, "exposed_comm_vs_seq.png")


def _cell_text(v):
    if v < 0.005:
        return "0"
    return f"{v:.2f}" if v < 1 else f"{v:.1f}" if v < 10 else f"{v:.0f}"


def _heatmap(ax, fig, values, title, cmap, top, annotate):
    """One rank x step panel; `top` is shared by a run's two panels so that a wait is coloured on
    the scale of the compute beside it (a few microseconds of wait stay white)."""
    image = ax.imshow(values, aspect="auto", cmap=cmap, origin="upper", vmin=0, vmax=top)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("ring step")
    ax.set_ylabel("rank")
    if values.shape[1] <= 32:  # one tick per step and rank while they stay legible
        ax.set_xticks(range(values.shape[1]))
        ax.set_yticks(range(values.shape[0]))
    fig.colorbar(image, ax=ax, label="ms (median over iterations)", fraction=0.046, pad=0.03)
    if annotate:
        for (r, s), v in np.ndenumerate(values):
            ax.text(s, r, _cell_text(v), ha="center", va="center", fontsize=8,
                    color="white" if v > 0.6 * top else "black")


def heatmap_runs(runs, limit=4):
    """The runs the heatmap shows: at the largest ring size, the longest sequence of every
    (mask, layout, ...) series, the ones with most exposed communication first."""
    ring_runs = [r for r in runs if r.world_size > 1]
    if not ring_runs:
        return []
    largest = max(r.world_size for r in ring_runs)
    picks = [rs[-1] for _, rs in group_series([r for r in ring_runs if r.world_size == largest])]
    picks.sort(key=lambda r: -r.s("exposed_comm_fraction"))
    return sorted(picks[:limit], key=lambda r: (r.get("mask"), r.get("layout"), r.id))


def rank_step_heatmap(runs, out_dir):
    picks = heatmap_runs(runs)
    if not picks:
        return None
    fig, axes = plt.subplots(len(picks), 2, figsize=(12, 3.2 * len(picks) + 0.6), squeeze=False)
    for row, run in zip(axes, picks):
        compute = np.median(run.compute_ms, axis=0)  # [ranks, steps]
        wait = np.median(run.wait_ms, axis=0)
        annotate = compute.size <= 64
        top = max(float(compute.max()), float(wait.max()), 1e-9)
        name = (f"run {run.id}: {fmt.tokens(run.seq_len)} {run.get('mask')} {run.get('layout')}, "
                f"{run.world_size} ranks")
        _heatmap(row[0], fig, compute, f"compute — {name}", "viridis", top, annotate)
        _heatmap(row[1], fig, wait, f"wait (exposed comm) — {name}", "Reds", top, annotate)
    fig.suptitle("Where time goes on every rank, step by step", fontsize=12)
    return _save(fig, out_dir, "rank_step_heatmap.png")


def scaling_series(runs, limit=8):
    """[(label, runs sorted by ranks)] for cases measured at two or more ring sizes (real ranks
    only: virtual ranks share one device); the longest sequences first."""
    real = [r for r in runs if not r.virtual]
    out = []
    for _, rs in group_series(real, without=("ranks",)):
        by_len = {}
        for r in rs:
            by_len.setdefault(r.seq_len, []).append(r)
        for seq, same in by_len.items():
            same.sort(key=lambda r: r.world_size)
            if len({r.world_size for r in same}) > 1:
                scheme = same[0].get("scheme")
                label = f"{fmt.tokens(seq)} {same[0].get('mask')} {same[0].get('layout')}" + \
                    ("" if scheme == "ring" else f" {scheme}")
                out.append((label, same))
    out.sort(key=lambda s: (-s[1][0].seq_len, s[0]))
    return out[:limit]


def efficiency(base, run):
    """Strong-scaling efficiency of `run` against the smaller ring `base` (1 = perfect)."""
    return base.s("median_ms") * base.world_size / (run.s("median_ms") * run.world_size)


def scaling_efficiency(runs, out_dir):
    series = scaling_series(runs)
    if not series:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5))
    sizes = sorted({r.world_size for _, rs in series for r in rs})
    for n, (label, rs) in enumerate(series):
        xs = [r.world_size for r in rs]
        style = dict(color=COLOURS[n % 10], marker=MARKERS[n % len(MARKERS)], label=label)
        left.plot(xs, [r.s("median_ms") for r in rs], **style)
        ideal = [rs[0].s("median_ms") * rs[0].world_size / p for p in xs]
        left.plot(xs, ideal, color=COLOURS[n % 10], ls=":", lw=1.2, alpha=0.8)
        right.plot(xs, [100 * efficiency(rs[0], r) for r in rs], **style)
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_locator(FixedLocator(sizes))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    _style(left, "Time vs ranks per case and scheme (dotted: ideal, time × P constant)", "time per iteration (ms)",
           "ranks (GPUs)")
    _log_y(left)
    _style(right, "Strong-scaling efficiency vs the smallest ring", "efficiency (%)", "ranks (GPUs)")
    right.axhline(100, color="k", ls="--", lw=1, alpha=0.6)
    right.set_ylim(0, 115)
    _legend(right, len(series))
    return _save(fig, out_dir, "scaling_efficiency.png")


# (drawing function, why it draws nothing when it returns None), in the report's order.
ALL = [
    (time_vs_seq, "no successful runs"),
    (throughput_vs_seq, "no successful runs"),
    (memory_vs_seq, "no memory recorded"),
    (exposed_comm_vs_seq, "every run used a single rank"),
    (rank_step_heatmap, "every run used a single rank"),
    (scaling_efficiency, "no case was run with two or more ring sizes"),
]
