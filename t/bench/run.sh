#!/bin/sh
# t/bench/run.sh: the `kdicli bench` suite (issue 9). Starts a local cluster
# (1 lockd, 1 masterd, 1 tabletd) in a temporary directory, creates the table
# "usertable" through the master, runs every workload against the cluster
# (kdi://) and, where it makes sense, against a local: baseline in the same
# kdicli process, stops the cluster and writes doc/benchmarks.md.
#
# Usage: t/bench/run.sh [BUILD_DIR]      (default: $KDI_BUILD_DIR or .)
# Sizes (environment): RECORDS (100000), OPS (50000, per mixed workload),
# THREADS (16), SYNC_OPS (10000), OUT (SRC/doc/benchmarks.md), KEEP=1 keeps
# the work directory. Needs python3 to render the report.
set -eu
build=${1:-${KDI_BUILD_DIR:-.}}
build=$(cd "$build" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
kdicli="$build/kdicli/kdicli"
RECORDS=${RECORDS:-100000}
OPS=${OPS:-50000}
THREADS=${THREADS:-16}
SYNC_OPS=${SYNC_OPS:-10000}
OUT=${OUT:-$src/doc/benchmarks.md}
[ -x "$kdicli" ] || { echo "run.sh: $kdicli is not built" >&2; exit 2; }
command -v python3 >/dev/null || { echo "run.sh: python3 is needed for the report" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/kdi-bench.XXXXXX")
cluster="$work/cluster"
results="$work/results"
mkdir -p "$results"
cleanup() {
  "$kdicli" local-cluster stop "$cluster" >/dev/null 2>&1 || true
  if [ "${KEEP:-0}" = 1 ]; then echo "run.sh: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM

cat /proc/loadavg > "$results/loadavg_start"
dirty=""
[ -n "$(git -C "$src" status --porcelain --untracked-files=no 2>/dev/null)" ] && dirty=" + uncommitted changes"
echo "$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)$dirty" > "$results/source"
date -u +%Y-%m-%dT%H:%MZ > "$results/date"
echo "run.sh: work directory $work"

# Cluster start to the first served write (target <= 2 s): start, create the
# table, one synced write.
t0=$(date +%s.%N)
"$kdicli" local-cluster start "$cluster" --tabletd 1 --masterd 1 > "$results/start.txt" 2>&1 ||
  { cat "$results/start.txt" >&2; exit 1; }
export KDI_CONF="$cluster/kdi.conf"
t1=$(date +%s.%N)
"$kdicli" bench --target usertable --create --workload syncwrite --ops 1 --records 1 \
  > "$results/first_write.txt" 2>&1 || { cat "$results/first_write.txt" >&2; exit 1; }
t2=$(date +%s.%N)
echo "$t0 $t1 $t2" > "$results/startup"

# bench NAME ARGS...: one run, its text output and its JSON kept for the report.
bench() {
  name=$1
  shift
  echo "+ kdicli bench $*" | tee "$results/$name.cmd"
  "$kdicli" bench "$@" --json "$results/$name.json" > "$results/$name.txt" 2>&1 || {
    echo "run.sh: $name failed" >&2
    cat "$results/$name.txt" >&2
    echo failed > "$results/$name.failed"
  }
  cat "$results/$name.txt"
}

base="local:$work/baseline"
common="--records $RECORDS"
bench load      --target usertable --baseline "$base" --workload load $common --threads 4
bench scan      --target usertable --baseline "$base" --workload scan $common
bench c1        --target usertable --baseline "$base" --workload c $common --ops $((OPS / 5)) --threads 1
bench c16       --target usertable --baseline "$base" --workload c $common --ops "$OPS" --threads "$THREADS"
bench b16       --target usertable --baseline "$base" --workload b $common --ops "$OPS" --threads "$THREADS"
bench a16       --target usertable --baseline "$base" --workload a $common --ops "$OPS" --threads "$THREADS"
bench f16       --target usertable --baseline "$base" --workload f $common --ops "$OPS" --threads "$THREADS"
bench d16       --target usertable --baseline "$base" --workload d $common --ops "$OPS" --threads "$THREADS"
bench e16       --target usertable --baseline "$base" --workload e $common --ops $((OPS / 40)) --threads "$THREADS"
bench syncwrite --target usertable --baseline "$base" --workload syncwrite $common --ops "$SYNC_OPS" --threads "$THREADS"
"$kdicli" local-cluster status "$cluster" > "$results/status.txt" 2>&1 || true
grep -h . "$cluster"/logs/tabletd-0.log 2>/dev/null | tail -5 > "$results/tabletd_log_tail.txt" || true
cat /proc/loadavg > "$results/loadavg_end"

python3 "$src/t/bench/report.py" "$results" "$build" "$src" \
  "RECORDS=$RECORDS OPS=$OPS THREADS=$THREADS SYNC_OPS=$SYNC_OPS" > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "run.sh: wrote $OUT"
