"""Checks a ringbench --trace file: strict JSON, one process per rank with a compute and a
communication track, and for every case, iteration, rank and step the spans the ring executes
(compute, then wait, on the compute track; send/recv, starting with the compute, on the other).

usage: report_trace.py TRACE.json ITERATIONS RANKS CASES
"""
import collections
import json
import sys


def reject(constant):
    raise ValueError(f"non-JSON constant {constant}")


def main():
    path, iterations, ranks, cases = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    with open(path) as f:
        trace = json.load(f, parse_constant=reject)
    events = trace["traceEvents"]
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
             if e["ph"] == "M" and e["name"] == "thread_name"}
    for rank in range(ranks):
        assert names.get((rank, 0)) == "compute", f"rank {rank} lacks its compute track"
        assert names.get((rank, 1)) == "communication", f"rank {rank} lacks its communication track"
    case_spans = [e for e in events if e["ph"] == "X" and e["cat"] == "case"]
    assert len(case_spans) == cases, f"{len(case_spans)} case spans, wanted {cases}"
    assert all(e["args"]["run_id"] for e in case_spans), "case spans lack run ids"

    spans = collections.defaultdict(list)  # (case, iteration, rank, step) -> spans
    for e in events:
        if e["ph"] != "X" or e["cat"] not in ("compute", "wait", "send/recv"):
            continue
        assert e["dur"] >= 0 and e["ts"] >= 0, f"negative time in {e}"
        case = sum(1 for c in case_spans if c["ts"] <= e["ts"]) - 1
        spans[(case, e["args"]["iteration"], e["pid"], e["args"]["step"])].append(e)
    steps = ranks  # a P-rank ring takes P steps
    expected = cases * iterations * ranks * steps
    assert len(spans) == expected, f"{len(spans)} (case, iteration, rank, step) groups, wanted {expected}"
    for (case, i, rank, step), group in spans.items():
        by_name = {e["name"]: e for e in group}
        want = {"compute", "wait"} | ({"send/recv"} if step < steps - 1 else set())
        assert set(by_name) == want and len(group) == len(want), f"{(case, i, rank, step)}: {sorted(by_name)}"
        compute, wait = by_name["compute"], by_name["wait"]
        assert compute["tid"] == 0 and wait["tid"] == 0
        assert compute["args"]["flops"] >= 0
        assert abs(wait["ts"] - (compute["ts"] + compute["dur"])) < 0.01, "wait does not follow compute"
        if step < steps - 1:
            transfer = by_name["send/recv"]
            assert transfer["tid"] == 1 and transfer["ts"] == compute["ts"], "transfer does not start with compute"
            assert transfer["args"]["bytes_sent"] > 0 and transfer["args"]["bytes_received"] > 0
    print(f"report_trace: {len(events)} events; {expected} (case, iteration, rank, step) groups as expected")


if __name__ == "__main__":
    main()
