"""The Markdown report: one function per section, each returning its lines."""
import math

import formatting as fmt
import plots
from grouping import case_text, group_tables

# Provenance shown first, in this order, under these names; every other key follows as it is.
PROVENANCE = [
    ("tool_version", "ringbench version"), ("git_commit", "git commit"), ("hostnames", "hosts"),
    ("device_names", "devices"), ("gpu_name", "GPU"), ("gpu_compute_capability", "compute capability"),
    ("gpu_sm_count", "SMs"), ("gpu_memory_bytes", "GPU memory (bytes)"), ("gpu_active_nvlinks", "active NVLinks"),
    ("gpu_peer_access", "peer access"), ("cuda_driver_version", "CUDA driver"),
    ("cuda_runtime_version", "CUDA runtime"), ("nccl_version", "NCCL"), ("cudnn_version", "cuDNN"),
    ("mpi_version", "MPI"), ("hdf5_version", "HDF5"), ("boost_version", "Boost"), ("compiler", "compiler"),
    ("slurm_job_id", "Slurm job"), ("slurm_nodelist", "Slurm nodes"),
]
SKIPPED_PROVENANCE = {"created_utc", "gpu_telemetry"}


def _density(run):
    """Allowed pairs / S² of the run's pattern (files before patterns: 1 or about 1/2)."""
    d = run.summary.get("density")
    return "—" if d is None else f"{d:.4f}"


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines + [""]


def _id_range(ids):
    return ids[0] if len(ids) == 1 else f"{ids[0]}–{ids[-1]}"


def header(path, file_attrs, runs, plot_files):
    created = sorted(r.provenance.get("created_utc", "") for r in runs if r.provenance.get("created_utc"))
    lines = [f"# ringbench report: `{path}`", ""]
    span = f", recorded {created[0]} to {created[-1]}" if created else ""
    lines.append(f"{len(runs)} run(s){span}; results file schema version {file_attrs.get('schema_version', '?')}. "
                 "Times are per forward iteration of the whole ring (its slowest rank), medians over the "
                 "timed iterations; TFLOP/s are per rank (GPU).")
    lines.append("")
    sections = ["Environment and provenance", "Results", "Validation", "Best configuration per sequence length",
                "Scaling efficiency", "Communication overhead", "Per-rank imbalance", "Plots"]
    lines.append("Contents: " + " · ".join(f"[{s}](#{_anchor(s)})" for s in sections))
    lines.append("")
    return lines


def _anchor(title):
    return "".join(c for c in title.lower().replace(" ", "-") if c.isalnum() or c == "-")


def environment(file_attrs, runs):
    lines = ["## Environment and provenance", ""]
    values = {}
    for run in runs:
        for key, value in run.provenance.items():
            if key not in SKIPPED_PROVENANCE and value != "":
                values.setdefault(key, {}).setdefault(value, []).append(run.id)
    known = [k for k, _ in PROVENANCE]
    names = dict(PROVENANCE)
    rows = []
    for key in known + sorted(k for k in values if k not in known):
        if key not in values:
            continue
        if len(values[key]) == 1:
            rows.append((names.get(key, key), f"`{next(iter(values[key]))}`"))
        else:  # differs between runs: say which runs had what
            rows.append((names.get(key, key), "<br>".join(f"`{v}` (runs {_id_range(ids)})"
                                                         for v, ids in values[key].items())))
    rows.append(("results file written by", f"`{file_attrs.get('tool_version', '?')}` "
                                            f"(`{file_attrs.get('git_commit', '?')}`)"))
    lines += _table(["", "value"], rows)
    lines += telemetry(runs)
    return lines


def telemetry(runs):
    """GPU clocks, power and temperature at the start and end of each run (when NVML gave them)."""
    rows = []
    for run in runs:
        t = run.telemetry
        if not t:
            continue

        def span(name, scale=1.0, digits=0):
            if name not in t:
                return "—"
            start, end = t[name][:, 0] * scale, t[name][:, 1] * scale
            return f"{min(start):.{digits}f}–{max(start):.{digits}f} → {min(end):.{digits}f}–{max(end):.{digits}f}"
        rows.append((run.id, case_text(run), span("sm_clock_mhz"), span("power_w"), span("temperature_c"),
                     span("memory_used_bytes", 2**-30, 1)))
    if not rows:
        return []
    return ["GPU telemetry, start → end of each run (range over ranks):", ""] + _table(
        ["run", "case", "SM clock (MHz)", "power (W)", "temperature (°C)", "memory used (GiB)"], rows)


def results(runs):
    lines = ["## Results", "",
             "One table per set of runs that share device, kernel, precision, ranks and head shape. "
             "min/max: fastest and slowest timed iteration; rank spread: each rank's median, min–max over ranks.",
             ""]
    for title, rs in group_tables(runs).items():
        lines += [f"### {title}", ""]
        rows = []
        for r in rs:
            status = "" if r.status == "ok" else f" **{r.status}**: {r.error}"
            rows.append((r.id + status, fmt.tokens(r.seq_len), r.get("mask"), _density(r), r.get("layout"),
                         fmt.ms(r.s("median_ms")),
                         f"{fmt.ms(r.s('min_ms'))} / {fmt.ms(r.s('max_ms'))}",
                         f"{fmt.ms(r.s('rank_min_ms'))}–{fmt.ms(r.s('rank_max_ms'))}",
                         fmt.num(r.s("tflops_per_rank"), 4), fmt.rate(r.s("tokens_per_s")),
                         fmt.percent(r.s("exposed_comm_fraction")), fmt.bytes_(r.s("peak_mem_bytes")),
                         fmt.sci(r.check["rel_err"]) if r.check else "—"))
        lines += _table(["run", "seq", "mask", "density", "layout", "median ms", "min / max ms", "rank spread ms",
                         "TFLOP/s per rank", "tokens/s", "exposed comm", "peak mem / rank", "rel. error"], rows)
    return lines


def _gradient_error(run):
    """The largest relative error of dQ, dK and dV, for runs that checked a backward pass."""
    errors = [run.check[k] for k in ("dq_rel_err", "dk_rel_err", "dv_rel_err") if k in run.check]
    return fmt.sci(max(errors)) if errors else "—"


def validation(runs):
    lines = ["## Validation", "",
             "Runs checked against the float64 reference (`ringbench quick`, or `run --check`): relative "
             "Frobenius error of the output, the tolerance it had to meet, and the verdict — the same "
             "lines `ringbench quick` ends with.", ""]
    checked = [r for r in runs if r.check is not None]
    failed_runs = [r for r in runs if r.status != "ok"]
    if checked:
        rows = [(r.id, case_text(r), fmt.sci(r.check["rel_err"]), fmt.sci(r.check.get("max_abs_err", math.nan)),
                 _gradient_error(r), fmt.sci(r.check["tolerance"]), "passed" if r.check.get("passed", 0) else "**FAILED**")
                for r in checked]
        lines += _table(["run", "case", "rel. error", "max abs. error", "gradients' rel. error (dQ, dK, dV)",
                         "tolerance", "verdict"], rows)
        failed = sum(1 for r in checked if not r.check.get("passed", 0))
        lines.append(f"**Verdict: {'all ' + str(len(checked)) + ' checked cases passed' if not failed else f'{failed} of {len(checked)} checked cases FAILED'}.**")
        lines.append("")
    else:
        lines += ["No run in this file was checked: run `ringbench quick`, or `ringbench run --check`.", ""]
    unchecked = len(runs) - len(checked)
    if checked and unchecked:
        lines += [f"{unchecked} run(s) were not checked.", ""]
    for r in failed_runs:
        lines += [f"- run {r.id} ({case_text(r)}) **{r.status}**: {r.error}"]
    if failed_runs:
        lines.append("")
    return lines


def best_configurations(newest):
    lines = ["## Best configuration per sequence length", "",
             "For every problem (sequence length, mask, head shape, batch, precision): the fastest "
             "configuration measured, and how much slower each alternative was.", ""]
    problems = {}
    for r in newest:
        problems.setdefault(r.problem_key(), []).append(r)
    rows = []
    for key in sorted(problems, key=lambda k: (int(k[0]), k[5], k)):
        rs = sorted(problems[key], key=lambda r: r.s("median_ms"))
        best = rs[0]
        others = ", ".join(f"{_config_name(r)} ×{r.s('median_ms') / best.s('median_ms'):.2f}" for r in rs[1:4])
        if len(rs) > 4:
            others += f", … ({len(rs) - 4} more)"
        rows.append((fmt.tokens(best.seq_len), best.get("mask"),
                     f"{best.get('heads')}/{best.get('kv-heads')}×{best.get('head-dim')}, b{best.get('batch')}, {best.get('dtype')}",
                     f"**{_config_name(best)}** (run {best.id})", fmt.ms(best.s("median_ms")),
                     fmt.num(best.s("tflops_per_rank"), 4), others or "—"))
    lines += _table(["seq", "mask", "heads×dim, batch, dtype", "fastest", "median ms", "TFLOP/s per rank",
                     "alternatives (time vs fastest)"], rows)
    return lines


def _config_name(run):
    ranks = f"{run.world_size}{'v' if run.virtual else ''} ranks"
    return f"{run.get('layout')} · {run.get('kernel')} · {ranks}"


def scaling(newest):
    lines = ["## Scaling efficiency", ""]
    series = plots.scaling_series(newest, limit=1000)
    if not series:
        sizes = sorted({r.world_size for r in newest})
        lines += [f"All runs of each case used one ring size ({', '.join(map(str, sizes))} ranks): run the same "
                  "cases with another number of ranks into this file to see scaling.", ""]
        return lines
    lines += ["Strong scaling: the same problem on more ranks. Efficiency = (time × ranks) of the smallest ring "
              "/ (time × ranks); 100 % means every added rank shortened the iteration in proportion.", ""]
    rows = []
    for label, rs in series:
        base = rs[0]
        for r in rs:
            rows.append((label, r.world_size, r.id, fmt.ms(r.s("median_ms")),
                         f"{base.s('median_ms') / r.s('median_ms'):.2f}×",
                         fmt.percent(plots.efficiency(base, r), 0), fmt.percent(r.s("exposed_comm_fraction"))))
    lines += _table(["case", "ranks", "run", "median ms", "speed-up", "efficiency", "exposed comm"], rows)
    return lines


def communication(newest):
    lines = ["## Communication overhead", ""]
    ring = [r for r in newest if r.world_size > 1]
    if not ring:
        return lines + ["Every run used a single rank: nothing was communicated.", ""]
    hidden = [r for r in ring if r.s("exposed_comm_fraction") < 0.05]
    worst = max(ring, key=lambda r: r.s("exposed_comm_fraction"))
    lines += [f"Per iteration and rank: compute time, transfer time (all steps), time compute waited for the "
              f"next block (exposed), bytes each rank sent, and the link bandwidth it achieved. Communication "
              f"was hidden (exposed < 5 %) in {len(hidden)} of {len(ring)} cases; the most exposed is run "
              f"{worst.id} ({case_text(worst)}) at {fmt.percent(worst.s('exposed_comm_fraction'))}.", ""]
    rows = [(r.id, case_text(r), fmt.ms(r.s("compute_ms")), fmt.ms(r.s("comm_ms")), fmt.ms(r.s("wait_ms")),
             fmt.percent(r.s("exposed_comm_fraction")), fmt.bytes_(r.s("bytes_sent_per_rank")),
             fmt.num(r.s("achieved_GBps"), 4))
            for r in sorted(ring, key=lambda r: (r.world_size, r.seq_len, r.get("mask"), r.get("layout")))]
    lines += _table(["run", "case", "compute ms", "transfer ms", "wait ms", "exposed", "sent / rank", "GB/s"], rows)
    return lines


def imbalance(newest):
    lines = ["## Per-rank imbalance", ""]
    ring = [r for r in newest if r.world_size > 1]
    if not ring:
        return lines + ["Every run used a single rank.", ""]
    lines += ["Each rank's median iteration time, the ratio of the most to the least compute any rank did "
              "(causal masks with the contiguous layout leave early ranks idle; zigzag balances them), "
              "and the rank that waited longest.", ""]
    rows = []
    for r in sorted(ring, key=lambda r: (r.world_size, r.seq_len, r.get("mask"), r.get("layout"))):
        per_rank_compute = r.compute_ms.sum(axis=2).mean(axis=0)
        per_rank_wait = r.wait_ms.sum(axis=2).mean(axis=0)
        rows.append((r.id, case_text(r), fmt.ms(r.s("rank_min_ms")), fmt.ms(r.s("rank_median_ms")),
                     fmt.ms(r.s("rank_max_ms")), f"{r.s('compute_imbalance'):.2f}",
                     f"{int(per_rank_compute.argmax())} / {int(per_rank_compute.argmin())}",
                     f"{int(per_rank_wait.argmax())} ({fmt.ms(float(per_rank_wait.max()))} ms)"))
    lines += _table(["run", "case", "fastest rank ms", "median rank ms", "slowest rank ms", "compute max/min",
                     "most / least compute (rank)", "longest wait (rank)"], rows)
    worst = max(ring, key=lambda r: r.s("compute_imbalance"))
    lines += [f"Most imbalanced: run {worst.id} ({case_text(worst)}), compute max/min "
              f"{worst.s('compute_imbalance'):.2f}.", ""]
    return lines


PLOT_CAPTIONS = {
    "time_vs_seq.png": ("Time vs sequence length", "log-log, one line per kernel/layout/mask/ring size, with "
                        "the fitted slope; the dashed line is O(S²). Parallel to it: the ring adds no cost that "
                        "grows faster than attention itself."),
    "throughput_vs_seq.png": ("Throughput", "TFLOP/s per rank (GPU) and tokens/s of the whole ring."),
    "memory_vs_seq.png": ("Memory", "peak memory per rank and memory per local token."),
    "exposed_comm_vs_seq.png": ("Exposed communication", "share of the iteration compute waited for data, and "
                                "transfer/compute time: above 1 the transfer cannot hide behind compute."),
    "rank_step_heatmap.png": ("Per rank × step", "compute and wait (exposed communication) of every rank at "
                              "every ring step, for the longest sequence of each series at the largest ring."),
    "scaling_efficiency.png": ("Scaling", "time and strong-scaling efficiency against the number of ranks."),
}


def plot_section(plot_files, skipped):
    lines = ["## Plots", ""]
    for name in plot_files:
        title, caption = PLOT_CAPTIONS[name]
        lines += [f"### {title}", "", caption, "", f"![{title}]({name})", ""]
    for name, why in skipped:
        lines += [f"- {PLOT_CAPTIONS[name][0]}: not drawn ({why})."]
    if skipped:
        lines.append("")
    return lines


def write(path, results_path, file_attrs, runs, newest, plot_files, skipped):
    lines = header(results_path, file_attrs, runs, plot_files)
    lines += environment(file_attrs, runs)
    lines += results(runs)
    lines += validation(runs)
    lines += best_configurations(newest)
    lines += scaling(newest)
    lines += communication(newest)
    lines += imbalance(newest)
    lines += plot_section(plot_files, skipped)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines).rstrip() + "\n")

