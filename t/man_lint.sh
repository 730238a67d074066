#!/bin/sh
# Every manual page in man/ must format with groff (man macros, tbl) without a
# single warning: groff -t -man -ww -z prints nothing for a clean page.
set -u
src=${KDI_SRC_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
fail=0
n=0
for page in "$src"/man/*.[1-9]; do
  [ -f "$page" ] || continue
  n=$((n + 1))
  out=$(groff -t -man -ww -z "$page" 2>&1)
  if [ -n "$out" ]; then
    echo "FAIL: $page:"
    echo "$out"
    fail=1
  else
    echo "ok: $page"
  fi
done
if [ "$n" -eq 0 ]; then
  echo "FAIL: no manual pages found under $src/man"
  exit 1
fi
exit $fail
