#!/usr/bin/env python3
"""ringbench report helper: RESULTS.h5 -> OUT/report.md plus PNG plots beside it.

Run by `ringbench report RESULTS.h5 [--out DIR]`; usable on its own the same way. Exit codes:
0 written, 1 the file could not be read or holds no runs, 2 h5py or matplotlib are missing or
the report cannot be written to DIR (one message line, like bad input).
"""
import argparse
import os
import sys

MISSING_TOOLS = 2
CANNOT_WRITE = 2


def require_modules():
    missing = []
    for name in ("numpy", "h5py", "matplotlib"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        sys.stderr.write(
            f"ringbench report: error: {sys.executable} lacks {', '.join(missing)}: install with "
            f"tools/setup-deps.sh (as root), or `{sys.executable} -m pip install h5py matplotlib`, or the "
            f"Debian/Ubuntu packages python3-h5py python3-matplotlib (RINGBENCH_PYTHON picks another python)\n")
        sys.exit(MISSING_TOOLS)


def draw_plots(newest, out_dir):
    """([PNG names written], [(name, why not drawn)])."""
    import plots

    written, skipped = [], []
    for draw, why_not in plots.ALL:
        name = draw(newest, out_dir)
        if name:
            written.append(name)
        else:
            skipped.append((draw.__name__ + ".png", why_not))
    return written, skipped


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="ringbench HDF5 results file")
    parser.add_argument("--out", help="output folder [RESULTS-report]")
    args = parser.parse_args()
    require_modules()
    import markdown_report
    import results_model

    out_dir = args.out or os.path.splitext(args.results)[0] + "-report"
    try:
        file_attrs, runs = results_model.load(args.results)
    except (OSError, KeyError) as e:
        sys.stderr.write(f"ringbench report: error: cannot read {args.results}: {e}\n")
        return 1
    if not runs:
        sys.stderr.write(f"ringbench report: error: {args.results} holds no runs\n")
        return 1
    newest = results_model.newest_per_case(runs)
    report = os.path.join(out_dir, "report.md")
    try:
        os.makedirs(out_dir, exist_ok=True)
        written, skipped = draw_plots(newest, out_dir)
        markdown_report.write(report, args.results, file_attrs, runs, newest, written, skipped)
    except OSError as e:  # a folder that cannot be made or written, a full disk: one line, as for bad input
        why = f"{e.filename}: {e.strerror}" if e.filename else str(e)
        sys.stderr.write(f"ringbench report: error: invalid value for 'out': '{out_dir}' "
                         f"(allowed: a folder the report can be written to ({why}))\n")
        return CANNOT_WRITE
    print(f"# report written to {report} ({len(runs)} runs, {len(written)} plots: {', '.join(written)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
