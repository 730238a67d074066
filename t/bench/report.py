#!/usr/bin/env python3
"""Renders doc/benchmarks.md from the results directory of t/bench/run.sh.

Usage: report.py RESULTS_DIR BUILD_DIR SRC_DIR SIZES
Reads NAME.json / NAME.txt / NAME.cmd of each `kdicli bench` run, startup,
loadavg_start/end; writes Markdown on stdout.
"""
import json
import os
import platform
import subprocess
import sys

results, build, src, sizes = sys.argv[1:5]


def load(name):
    p = os.path.join(results, name + ".json")
    if not os.path.exists(p) or os.path.exists(os.path.join(results, name + ".failed")):
        return None
    with open(p) as f:
        return json.load(f)


def text(name):
    p = os.path.join(results, name)
    return open(p).read() if os.path.exists(p) else ""


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def run_of(doc, role):
    if doc is None:
        return None
    for r in doc["runs"]:
        if r["role"] == role:
            return r
    return None


def op(run, name):
    if run is None:
        return None
    for o in run["ops"]:
        if o["name"] == name:
            return o
    return None


def fmt(v, digits=0):
    if v is None:
        return "n/a"
    return f"{v:,.{digits}f}"


names = ["load", "scan", "c1", "c16", "b16", "a16", "f16", "d16", "e16", "syncwrite"]
docs = {n: load(n) for n in names}
out = []
w = out.append

cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
mem = sh("grep -m1 MemTotal /proc/meminfo | awk '{print $2}'")
w("# KDI benchmarks")
w("")
w("Figures from one run of `t/bench/run.sh` (issue 9): `kdicli bench` drives YCSB-style")
w("workloads against a local cluster (1 lockd, 1 masterd, 1 tabletd on 127.0.0.1, TLS)")
w("and against a `local:` table in the kdicli process (the storage engine alone, the limit")
w("for this design), one after the other in the same invocation, and reports the ratio.")
w("")
w("**Caveat: the machine was shared with other builds while this ran.** Load average at")
w(f"the start `{text('loadavg_start').strip()}`, at the end `{text('loadavg_end').strip()}`")
w(f"(on {os.cpu_count()} cores). Absolute figures are therefore low and noisy; the")
w("cluster/baseline ratios are the more meaningful numbers. They will be re-measured")
w("on an idle machine.")
w("")
w("## Machine and versions")
w("")
w(f"- CPU: {cpu or platform.processor()}, {os.cpu_count()} cores; memory {int(mem or 0) // 1024} MiB")
w(f"- Kernel: `{platform.uname().system} {platform.uname().release}`")
w(f"- Compiler: `{sh('g++ --version | head -1')}`")
w(f"- Source: `{text('source').strip() or 'unknown'}` (the tree the binaries in {build} were built from)")
w(f"- Date of the run: {text('date').strip() or 'unknown'}")
w(f"- Sizes: {sizes}; records of 10 fields x 100 bytes (YCSB default)")
w("")
w("## Commands")
w("")
w("```")
w(f"t/bench/run.sh {build}   # {sizes}")
w("kdicli local-cluster start $DIR --tabletd 1 --masterd 1; export KDI_CONF=$DIR/kdi.conf")
for n in names:
    c = text(n + ".cmd").strip()
    if c:
        w(c.lstrip("+ ") + " --json ...")
w("```")
w("")
w("`usertable` is the cluster table (created by the first command with `--create`);")
w("the baseline is `local:$WORK/baseline` (Berkeley DB cache 64 MiB, the per-tablet")
w("cache cap of tabletd).")
w("")

# ---- summary table ----
w("## Results")
w("")
w("| run | threads | cluster rate | baseline rate | ratio | cluster p50 / p99 (us) | baseline p50 / p99 (us) |")
w("|---|---|---|---|---|---|---|")
main_op = {"load": "batch", "scan": "scan", "c1": "read", "c16": "read", "b16": "read",
           "a16": "read", "f16": "rmw", "d16": "read", "e16": "scan", "syncwrite": "syncwrite"}
for n in names:
    d = docs[n]
    if d is None:
        w(f"| {n} | | failed or not run (see below) | | | | |")
        continue
    t, b = run_of(d, "target"), run_of(d, "baseline")
    ot, ob = op(t, main_op[n]), op(b, main_op[n])
    lat_t = f"{fmt(ot['p50_us'], 1)} / {fmt(ot['p99_us'], 1)}" if ot else "n/a"
    lat_b = f"{fmt(ob['p50_us'], 1)} / {fmt(ob['p99_us'], 1)}" if ob else "n/a"
    unit = t["rate_unit"] if t else ""
    w(f"| {d['workload']} ({main_op[n]}) | {d['threads']} | {fmt(t and t['rate'])} {unit} | "
      f"{fmt(b and b['rate'])} | {fmt(d.get('ratio'), 3)} | {lat_t} | {lat_b} |")
w("")
w("### CPU actually obtained")
w("")
w("On a machine this loaded, each process gets only a slice of a core. The table shows")
w("the CPU seconds the run obtained (cluster: kdicli + every daemon; baseline: kdicli)")
w("over its wall time, and the rate per CPU second, which is less sensitive to the")
w("other load than the rate per wall second.")
w("")
w("| run | cluster CPU s / wall s | cluster rate per CPU s | baseline CPU s / wall s | baseline rate per CPU s |")
w("|---|---|---|---|---|")


def cpu_of(run):
    if run is None:
        return 0.0
    c = run["client_user_seconds"] + run["client_sys_seconds"]
    for dm in run.get("daemons", []):
        if dm["alive"]:
            c += dm["cpu_seconds"]
    return c


for n in names:
    d = docs[n]
    if d is None:
        continue
    cells = []
    for role in ("target", "baseline"):
        r = run_of(d, role)
        if r is None:
            cells += ["n/a", "n/a"]
            continue
        c = cpu_of(r)
        amount = r["rate"] * r["wall_seconds"]
        cells += [f"{c:.2f} / {r['wall_seconds']:.2f}", fmt(amount / c if c > 0 else None)]
    w(f"| {n} | " + " | ".join(cells) + " |")
w("")
if docs["c16"]:
    t, b = run_of(docs["c16"], "target"), run_of(docs["c16"], "baseline")
    if t and b and t["rate"] > 0 and b["rate"] > 0:
        ct = cpu_of(t) / (t["rate"] * t["wall_seconds"]) * 1e6
        cb = cpu_of(b) / (b["rate"] * b["wall_seconds"]) * 1e6
        w(f"A point read (workload C, 16 threads) cost {ct:.0f} us of CPU summed over kdicli")
        w(f"and the daemons through the cluster, against {cb:.0f} us in `local:`. At that cost")
        w(f"2 idle cores would give at most about {2e6 / ct:,.0f} reads/s through the cluster;")
        w("the 40,000 reads/s target needs the per-read CPU cost to drop to ~50 us, so the")
        w("RPC/TLS path, not the storage engine, is where the time goes (to be confirmed")
        w("with a profile).")
        w("")
w("Rates are records/s for load, cells/s for scan, and operations/s (all kinds) for the")
w("others; latencies are of the operation named in brackets (load: one batch of 100")
w("records; scan: the whole scan). Per-operation rows, CPU and memory are in the raw")
w("outputs at the end.")
w("")

# ---- targets ----
def verdict(ok, how):
    return ("met" if ok else "**missed**") + (f" ({how})" if how else "")


rows = []
ld = docs["load"]
if ld and ld.get("ratio") is not None:
    r = ld["ratio"]
    rows.append(("load, batched, synced at the end", "cluster >= 60% of local:",
                 f"{r * 100:.0f}% of local:", verdict(r >= 0.6, "" if r >= 0.6 else f"short by {(0.6 - r) * 100:.0f} points")))
c16 = docs["c16"]
if c16:
    o = op(run_of(c16, "target"), "read")
    rate = o["ops_per_sec"] if o else 0
    p99 = o["p99_us"] if o else 0
    ok = rate >= 40000 and p99 <= 2000
    rows.append(("workload C, 16 threads", ">= 40,000 reads/s, p99 <= 2 ms",
                 f"{rate:,.0f} reads/s, p99 {p99 / 1000:.2f} ms",
                 verdict(ok, f"{rate / 40000 * 100:.0f}% of the rate; p99 {p99 / 2000:.1f}x the limit" if not ok else "")))
c1 = docs["c1"]
if c1:
    o = op(run_of(c1, "target"), "read")
    p50 = o["p50_us"] if o else 0
    rows.append(("workload C, 1 thread", "p50 <= 100 us", f"p50 {p50:.0f} us",
                 verdict(p50 <= 100, "" if p50 <= 100 else f"{p50 / 100:.1f}x the limit")))
sc = docs["scan"]
if sc:
    t = run_of(sc, "target")
    rate = t["rate"] if t else 0
    r = sc.get("ratio") or 0
    ok = rate >= 1e6 and r >= 0.5
    rows.append(("full scan through the cluster", ">= 1,000,000 cells/s and >= 50% of local:",
                 f"{rate:,.0f} cells/s, {r * 100:.0f}% of local:",
                 verdict(ok, "" if ok else f"{rate / 1e6 * 100:.0f}% of the rate target")))
sw = docs["syncwrite"]
if sw:
    t = run_of(sw, "target")
    rate = t["rate"] if t else 0
    rows.append(("syncwrite, 16 threads", ">= 15,000 synced writes/s", f"{rate:,.0f}/s",
                 verdict(rate >= 15000, "" if rate >= 15000 else f"{rate / 15000 * 100:.0f}% of target")))
for n, label in (("a16", "workload A, 16 threads"), ("f16", "workload F, 16 threads")):
    d = docs[n]
    if d:
        t = run_of(d, "target")
        rate = t["rate"] if t else 0
        rows.append((label, ">= 20,000 ops/s", f"{rate:,.0f} ops/s",
                     verdict(rate >= 20000, "" if rate >= 20000 else f"{rate / 20000 * 100:.0f}% of target")))
# tabletd memory: the largest peak RSS seen over all runs.
hwm = 0
for d in docs.values():
    t = run_of(d, "target")
    for dm in (t or {}).get("daemons", []):
        if dm["name"].startswith("tabletd") and dm["peak_rss_kib"] > hwm:
            hwm = dm["peak_rss_kib"]
if hwm:
    limit = 256 + 64
    recs = sizes.split()[0]
    rows.append(("tabletd memory with 1 M records", "RSS <= cache (256 MiB default) + 64 MiB",
                 f"peak {hwm / 1024:.0f} MiB with {recs}",
                 "not measured at 1 M records" + (f" (under the limit at this size)" if hwm / 1024 <= limit else " (**over the limit already at this size**)")))
st = text("startup").split()
if len(st) == 3:
    t0, t1, t2 = map(float, st)
    total = t2 - t0
    rows.append(("`local-cluster start` to first served write", "<= 2 s",
                 f"{total:.2f} s (start {t1 - t0:.2f} s, create table + first synced write {t2 - t1:.2f} s)",
                 verdict(total <= 2, "" if total <= 2 else f"{total / 2:.1f}x the limit")))

w("## Targets of issue 9")
w("")
w("| measure | target | measured | verdict |")
w("|---|---|---|---|")
for r in rows:
    w("| " + " | ".join(r) + " |")
w("")
w("A missed target on this run is not yet evidence against the design: the host was")
w("loaded by other compilations (see the load average above) and client, daemons and")
w("baseline share 2 cores. What bounds the read figures is shown by the profile notes")
w("below (RPC compression and thread hand-offs, not the storage engine); the other")
w("workloads are still to be profiled on an idle machine.")
w("")
w("## How to read the figures")
w("")
w("- Writes through `kdi://` are buffered by the client (lib/client/mutation_buffer.h):")
w("  `Apply` of an update or insert returns once the mutation is in the client's")
w("  buffer, so their latencies in workloads A, B, D and E are not round trips; the")
w("  round trip is paid by the flush, which `Sync` (load, syncwrite) waits for. Reads,")
w("  scans and the conditional apply of F are synchronous round trips.")
w("- The `local:` baseline runs in the kdicli process, so its client CPU includes the")
w("  storage engine; for `kdi://` the engine's CPU is the tabletd's line.")
w("- Workload D reads the newest records; a read that races an insert still in flight")
w("  finds no row and is counted as \"reads found no row\" (as in YCSB without its")
w("  acknowledged-insert counter).")
w("")
notes = os.path.join(src, "t", "bench", "profile_notes.md")
if os.path.exists(notes):
    w(open(notes).read().rstrip())
    w("")
w("## Not measured yet")
w("")
w("- The 2-tabletd configuration of the issue (this run uses 1 tabletd).")
w("- tabletd RSS at 1 M records (this run loads the number of records above).")
w("- A profile of each workload (the notes above cover workload C only), and on an idle host.")
failed = [n for n in names if docs[n] is None]
if failed:
    w(f"- Runs that failed: {', '.join(failed)} (their output is below).")
w("")
w("## Raw outputs")
w("")
for n in names:
    w(f"### {n}")
    w("")
    w("```")
    w(text(n + ".cmd").strip())
    w(text(n + ".txt").rstrip())
    w("```")
    w("")
w("### cluster")
w("")
w("```")
w(text("status.txt").rstrip())
w("```")
print("\n".join(out))
