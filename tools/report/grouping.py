"""How runs are grouped: into tables (runs that differ only in sequence length, mask and layout),
into plot series (runs that differ only in sequence length) and into scaling series (runs that
differ only in the number of ranks)."""
from collections import OrderedDict

import formatting as fmt

# What a table holds fixed; sequence length, mask and layout vary inside one table.
TABLE_KEYS = ("device", "kernel", "dtype", "heads", "kv-heads", "head-dim", "batch", "virtual-ranks", "pass",
              "scheme")


def table_key(run):
    return tuple(run.get(k) for k in TABLE_KEYS) + (run.world_size,)


def table_title(run):
    ranks = f"{run.world_size} ranks" + (" (virtual, one device)" if run.virtual else "")
    return (f"{run.get('device')} · kernel {run.get('kernel')} · {run.get('dtype')} · {ranks} · "
            f"{run.get('heads')}/{run.get('kv-heads')} heads × {run.get('head-dim')} · batch {run.get('batch')} · "
            f"pass {run.get('pass')}" + ("" if run.get("scheme") == "ring" else f" · scheme {run.get('scheme')}"))


def group_tables(runs):
    """OrderedDict title -> runs, sorted by sequence length, mask, layout, id."""
    groups = OrderedDict()
    for run in sorted(runs, key=lambda r: (table_key(r), r.seq_len, r.get("mask"), r.get("layout"), r.id)):
        groups.setdefault(table_key(run), []).append(run)
    return OrderedDict((table_title(rs[0]), rs) for rs in groups.values())


def series_attrs(run):
    """The attributes that tell plot series apart, as they appear in labels."""
    return OrderedDict([
        ("device", run.get("device")), ("kernel", run.get("kernel")), ("dtype", run.get("dtype")),
        ("heads", f"{run.get('heads')}/{run.get('kv-heads')}×{run.get('head-dim')}"),
        ("batch", f"batch {run.get('batch')}"), ("pass", run.get("pass")), ("layout", run.get("layout")),
        ("mask", run.get("mask")),
        ("ranks", f"{run.world_size}{'v' if run.virtual else ''} ranks"),
        ("scheme", run.get("scheme")),
    ])


def group_series(runs, without=()):
    """[(label, runs sorted by sequence length)] over `runs` (use one run per case). A label names
    layout, mask and ranks, plus whatever else differs between the series; `without` drops
    attributes from the series key (e.g. "ranks" for scaling)."""
    series = OrderedDict()
    for run in sorted(runs, key=lambda r: r.seq_len):
        attrs = series_attrs(run)
        key = tuple(v for k, v in attrs.items() if k not in without)
        series.setdefault(key, []).append(run)
    all_attrs = [series_attrs(rs[0]) for rs in series.values()]
    varying = {k for k in all_attrs[0] if len({a[k] for a in all_attrs}) > 1} if all_attrs else set()
    shown = [k for k in all_attrs[0] if k not in without and (k in varying or k in ("layout", "mask", "ranks"))] \
        if all_attrs else []
    out = []
    for rs in series.values():
        attrs = series_attrs(rs[0])
        out.append((" ".join(attrs[k] for k in shown), rs))
    return out


def case_text(run):
    """One line naming a run's case, for tables that mix sets."""
    passes = "" if run.get("pass") == "fwd" else f" {run.get('pass')}"
    return (f"{fmt.tokens(run.seq_len)} {run.get('mask')} {run.get('layout')}{passes}, {run.world_size} ranks, "
            f"{run.get('kernel')} {run.get('dtype')}, {run.get('heads')}/{run.get('kv-heads')}×{run.get('head-dim')}")
