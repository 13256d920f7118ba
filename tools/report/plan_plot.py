"""`ringbench plan --plot FILE`: iteration time and memory per GPU against the number of GPUs (one
line per planned case) and, when the plan holds several sequence lengths, against the sequence
length (one line per GPU count), from the CSV the plan wrote (columns as `ringbench plan` prints)."""
import csv
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def style(ax, title, unit, xlabel):
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(unit)
    ax.set_title(f"{title} (predicted)")
    ax.grid(True, which="both", alpha=0.3)


def versus_length(rows, time_ax, mem_ax):
    """One line per GPU count over the planned sequence lengths."""
    for gpus in sorted({int(r["gpus"]) for r in rows}):
        mine = sorted((r for r in rows if int(r["gpus"]) == gpus), key=lambda r: int(r["seq_len"]))
        seq = [int(r["seq_len"]) for r in mine]
        time_ax.plot(seq, [float(r["iteration_ms"]) for r in mine], marker="o", label=f"{gpus} GPUs")
        mem_ax.plot(seq, [float(r["memory_gib"]) for r in mine], marker="o", label=f"{gpus} GPUs")
    style(time_ax, "iteration time", "ms", "sequence length (tokens)")
    style(mem_ax, "memory per GPU", "GiB", "sequence length (tokens)")
    time_ax.legend(fontsize=8)


def main(csv_path, png_path):
    rows = read_rows(csv_path)
    cases = sorted({r["case"] for r in rows}, key=int)
    lengths = len({r["seq_len"] for r in rows})
    fig, axes = plt.subplots(2 if lengths > 1 else 1, 2, figsize=(11, 8.4 if lengths > 1 else 4.2),
                             squeeze=False)
    time_ax, mem_ax = axes[0]
    for case in cases:
        mine = [r for r in rows if r["case"] == case]
        gpus = [int(r["gpus"]) for r in mine]
        label = f"case {case}, seq {int(mine[0]['seq_len']):,}"
        time_ax.plot(gpus, [float(r["iteration_ms"]) for r in mine], marker="o", label=label)
        mem_ax.plot(gpus, [float(r["memory_gib"]) for r in mine], marker="o", label=label)
    style(time_ax, "iteration time", "ms", "GPUs in the ring")
    style(mem_ax, "memory per GPU", "GiB", "GPUs in the ring")
    time_ax.legend(fontsize=8)
    if lengths > 1:
        versus_length(rows, *axes[1])
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: plan_plot.py PLAN.csv OUT.png")
    main(sys.argv[1], sys.argv[2])
