"""`ringbench plan --plot FILE`: iteration time and memory per GPU against the number of GPUs, one
line per planned case, from the CSV the plan wrote (columns as printed by `ringbench plan`)."""
import csv
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def main(csv_path, png_path):
    rows = read_rows(csv_path)
    cases = sorted({r["case"] for r in rows}, key=int)
    fig, (time_ax, mem_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    for case in cases:
        mine = [r for r in rows if r["case"] == case]
        gpus = [int(r["gpus"]) for r in mine]
        label = f"case {case}, seq {int(mine[0]['seq_len']):,}"
        time_ax.plot(gpus, [float(r["iteration_ms"]) for r in mine], marker="o", label=label)
        mem_ax.plot(gpus, [float(r["memory_gib"]) for r in mine], marker="o", label=label)
    for ax, title, unit in ((time_ax, "iteration time", "ms"), (mem_ax, "memory per GPU", "GiB")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("GPUs in the ring")
        ax.set_ylabel(unit)
        ax.set_title(f"{title} (predicted)")
        ax.grid(True, which="both", alpha=0.3)
    time_ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: plan_plot.py PLAN.csv OUT.png")
    main(sys.argv[1], sys.argv[2])
