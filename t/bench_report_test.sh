#!/bin/sh
# t/bench/report.py judges the workloads that run.sh repeats (REPEATS) on the
# median of their runs and lists every run; a workload run once is judged on
# that run. Renders a report from a made-up results directory and checks the
# lines of the targets table.
set -u
src=${KDI_SRC_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# python3 renders the report (t/bench/run.sh needs it too); .ci/install-deps
# installs it, so its absence is a failure, not a reason to skip.
command -v python3 >/dev/null || { echo "FAIL: python3 is not installed (run .ci/install-deps)"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kdi-bench-report.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

# fake NAME WORKLOAD OP RATE P99: one run's JSON and command, cluster only.
fake() {
  python3 - "$tmp/$1" "$2" "$3" "$4" "$5" <<'EOF'
import json, sys
path, workload, opname, rate, p99 = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
run = {"role": "target", "rate": rate, "rate_unit": "ops/s", "wall_seconds": 1.0,
       "client_user_seconds": 0.5, "client_sys_seconds": 0.5, "daemons": [],
       "ops": [{"name": opname, "ops_per_sec": rate, "p50_us": 100.0, "p99_us": p99}]}
json.dump({"workload": workload, "threads": 16, "ops": 1000, "runs": [run]}, open(path + ".json", "w"))
open(path + ".cmd", "w").write("+ kdicli bench --workload " + workload + "\n")
open(path + ".txt", "w").write("rate\n")
EOF
}

fake c16 c read 30000 2500
fake c16_r2 c read 45000 1500
fake c16_r3 c read 41000 1800
fake a16 a read 25000 900
fake a16_r2 a read 15000 900
fake a16_r3 a read 19000 900
fake f16 f rmw 21000 900
fake syncwrite syncwrite syncwrite 9000 900
python3 "$src/t/bench/report.py" "$tmp" build "$src" "SIZES" > "$tmp/report.md" || {
  echo "FAIL: report.py exited with $?"
  exit 1
}

# expect PATTERN WHAT: a line of the report matches the fixed string PATTERN.
expect() {
  if ! grep -qF -- "$1" "$tmp/report.md"; then
    echo "FAIL: $2: no line with '$1'"
    grep -F "$3" "$tmp/report.md" | sed 's/^/  got: /'
    fail=1
  fi
}
# C: median rate 41,000 and median p99 1.8 ms meet the target, though run 1 missed.
expect "| workload C, 16 threads | >= 40,000 reads/s, p99 <= 2 ms | 41,000 reads/s, p99 1.80 ms (median of 3 runs: 30,000, 45,000, 41,000) | met |" \
  "C judged on the median" "workload C, 16"
# A: median 19,000 misses, though run 1 met it.
expect "| workload A, 16 threads | >= 20,000 ops/s | 19,000 ops/s (median of 3 runs: 25,000, 15,000, 19,000) | **missed** (95% of target) |" \
  "A judged on the median" "workload A"
# F and syncwrite ran once: judged on that run, no list of runs.
expect "| workload F, 16 threads | >= 20,000 ops/s | 21,000 ops/s | met |" "F run once" "workload F"
expect "| syncwrite, 16 threads | >= 15,000 synced writes/s | 9,000/s | **missed** (60% of target) |" \
  "syncwrite run once" "syncwrite, 16"
# Every repeat's command and raw output are in the report.
expect "### c16_r3" "raw output of a repeat" "###"

[ $fail = 0 ] && echo "PASS: bench report judges repeated workloads on their median"
exit $fail
