#!/bin/sh
# Every option a program prints in --help must appear in its manual page:
#   kdicli  -> man/kdicli.1: each global option, each command (as "kdicli WORDS")
#              and each option of each command (found by walking --help);
#   lockd, masterd, tabletd -> man/PROGRAM.8: each option, for every daemon
#              that is built in this tree.
# Options are compared as "--name"; in the page source "\-" counts as "-".
set -u
build=${KDI_BUILD_DIR:-.}
src=${KDI_SRC_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kdi-man-flags.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# The page source with groff escapes for dashes and fonts removed.
normalize() {
  sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' -e 's/\\&//g' "$1"
}

# Option names ("--foo") of a --help text on stdin.
options_of() {
  grep -E '^  (-[a-zA-Z], )?--[a-z]' | grep -oE -- '--[a-z][a-z0-9_-]*' | sort -u
}

# check_options PAGE WHAT < help-text
check_options() {
  options_of > "$tmp/opts"
  while read -r opt; do
    if ! grep -qF -- "$opt" "$tmp/page"; then
      echo "FAIL: $2: option $opt is not in $1"
      fail=1
    fi
  done < "$tmp/opts"
}

# ---- kdicli ----
kdicli="$build/kdicli/kdicli"
page="$src/man/kdicli.1"
if [ ! -x "$kdicli" ]; then
  echo "FAIL: $kdicli is not built"
  exit 1
fi
normalize "$page" > "$tmp/page"
KDI_CONF=/dev/null "$kdicli" --help > "$tmp/help" || { echo "FAIL: kdicli --help"; fail=1; }
check_options "$page" "kdicli" < "$tmp/help"

# Walks the Commands: lists; a line "  WORDS ..." is a group, "  WORDS ARGS" a command.
commands_of() {
  sed -n '/^Commands:/,$p' | awk '
    /^  [a-z]/ {
      path = ""; group = 0
      for (i = 1; i <= NF; i++) {
        if ($i == "...") { group = 1; break }
        if ($i !~ /^[a-z][a-z0-9-]*$/) break
        path = path (path == "" ? "" : " ") $i
      }
      print (group ? "G " : "C ") path
    }'
}
commands_of < "$tmp/help" > "$tmp/todo"
ncmd=0
while [ -s "$tmp/todo" ]; do
  head -n 1 "$tmp/todo" > "$tmp/item"
  sed -i '1d' "$tmp/todo"
  read -r kind path < "$tmp/item"
  # shellcheck disable=SC2086
  KDI_CONF=/dev/null "$kdicli" $path --help > "$tmp/chelp" 2>&1
  if [ "$kind" = G ]; then
    commands_of < "$tmp/chelp" | grep -v "^G $path\$" >> "$tmp/todo"
    continue
  fi
  ncmd=$((ncmd + 1))
  if ! grep -qF -- "kdicli $path" "$tmp/page"; then
    echo "FAIL: command 'kdicli $path' is not in $page"
    fail=1
  fi
  check_options "$page" "kdicli $path" < "$tmp/chelp"
done
if [ "$ncmd" -eq 0 ]; then
  echo "FAIL: found no kdicli commands in --help"
  fail=1
fi
echo "kdicli: checked global options and $ncmd commands against $page"

# ---- daemons ----
for prog in lockd masterd tabletd; do
  bin="$build/$prog/$prog"
  page="$src/man/$prog.8"
  [ -x "$bin" ] || { echo "$prog: not built in this tree; nothing to compare"; continue; }
  if [ ! -f "$page" ]; then
    echo "FAIL: $prog is built but $page does not exist"
    fail=1
    continue
  fi
  normalize "$page" > "$tmp/page"
  KDI_CONF=/dev/null "$bin" --help > "$tmp/help" 2>&1 || { echo "FAIL: $prog --help"; fail=1; }
  check_options "$page" "$prog" < "$tmp/help"
  echo "$prog: checked $(options_of < "$tmp/help" | wc -l) options against $page"
done
exit $fail
