#!/bin/bash
# t/install_test.sh: KDI as an operator installs and runs it (issue 7).
#
#  1. `make install DESTDIR=STAGE` of this build tree (prefix, sysconfdir, ...
#     as configured; STAGE is a fresh temporary directory).
#  2. Certificates made with the INSTALLED `kdicli ca init/issue`, and a
#     kdi.conf in STAGE$sysconfdir/kdi with one section per daemon, every
#     daemon on a free loopback port, every path inside STAGE.
#  3. lockd, masterd and tabletd started through the INSTALLED SysV init
#     scripts (STAGE$sysconfdir/init.d/kdi-*), pointed into STAGE by a
#     /etc/default/kdi-style file named by KDI_DEFAULTS (KDI_SBIN_DIR, KDI_CONF,
#     KDI_RUN_DIR, KDI_USER, LD_LIBRARY_PATH). The daemons run as the user
#     running the test (KDI_USER=$(id -un)): as root in a CI container that is
#     root, otherwise the calling user, so the test needs no `kdi` account.
#     `status` must answer 3 before start and after stop, 0 while running.
#  4. Each daemon's startup log names its version, config file, listen address
#     and data directory.
#  5. The installed kdicli creates a table, writes a cell and reads it back.
#  6. doc/examples/*.cc compile and link against the installed libkdi with
#     `pkg-config --cflags --libs kdi` (PKG_CONFIG_PATH and
#     PKG_CONFIG_SYSROOT_DIR into STAGE) and run against mem:, local: and the
#     running cluster (kdi://).
#  7. The init scripts stop the daemons; no process started from STAGE is left.
#  8. `make uninstall DESTDIR=STAGE` leaves nothing but the (edited) kdi.conf and
#     the files the daemons and this test made at run time (certificates,
#     data, logs).
# The EXIT trap stops whatever is still running and removes STAGE (kept, for a
# post-mortem, when KDI_KEEP_STAGE is set).
# Environment: KDI_BUILD_DIR (the build tree; set by make check), KDI_SRC_DIR.
set -u

build=${KDI_BUILD_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
src=${KDI_SRC_DIR:-$build}
# The harness runs under make; the nested makes below must not inherit its
# jobserver or flags.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS
MAKE=${KDI_MAKE:-make}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kdi-install-test.XXXXXX") || exit 1
stage=$tmp/stage
daemons="lockd masterd tabletd"
failed=0

say() { printf '%s\n' "$*"; }
fail() { say "FAIL: $*"; failed=1; }
die() { say "FAIL: $*"; exit 1; }

# Processes whose executable lives in STAGE (the installed daemons and kdicli).
# Zombies have no executable any more, so they are not listed.
staged_pids() {
  find /proc/[0-9]*/exe -maxdepth 0 -lname "$stage/*" 2>/dev/null |
    sed -e 's|^/proc/||' -e 's|/exe$||' | tr '\n' ' '
}

# alive PID: running and not a zombie (an exited daemon that the container's
# init has not reaped yet has stopped).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [ "$(sed -e 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]
}

cleanup() {
  local rc=$? d p
  trap - EXIT INT TERM HUP
  if [ -n "${initd:-}" ] && [ -d "$initd" ]; then
    for d in tabletd masterd lockd; do
      [ -x "$initd/kdi-$d" ] && "$initd/kdi-$d" stop >/dev/null 2>&1
    done
  fi
  for p in $(staged_pids); do kill -KILL "$p" 2>/dev/null; done
  if [ $rc -ne 0 ] && [ -n "${logdir:-}" ] && [ -d "$logdir" ]; then
    for f in "$logdir"/*.log; do
      [ -f "$f" ] || continue
      say "--- last lines of $f"
      tail -n 20 "$f"
    done
  fi
  if [ -n "${KDI_KEEP_STAGE:-}" ]; then say "kept $tmp"; else rm -rf "$tmp"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# free_port VAR: sets VAR to a TCP port on 127.0.0.1 that nothing uses now
# (not in /proc/net/tcp*) and that no earlier call returned.
used_ports=""
free_port() {
  local p hex i
  for i in $(seq 1 200); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    hex=$(printf '%04X' "$p")
    case " $used_ports " in *" $p "*) continue ;; esac
    if ! awk '{print $2}' /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -qi ":$hex\$"; then
      used_ports="$used_ports $p"
      eval "$1=$p"
      return 0
    fi
  done
  return 1
}

start_s=$(date +%s)
step() { say "[$(( $(date +%s) - start_s )) s] $*"; }

# --- 1. install --------------------------------------------------------------
# The configured directories, fully expanded by make (t/ops.am).
paths=$("$MAKE" -s --no-print-directory -C "$build" kdi-print-install-paths) || die "make kdi-print-install-paths"
eval "$paths"
for v in prefix bindir sbindir libdir includedir sysconfdir localstatedir docdir CXX; do
  eval "[ -n \"\${$v:-}\" ]" || die "make kdi-print-install-paths did not set $v"
done
step "make install DESTDIR=$stage (prefix $prefix)"
"$MAKE" -s -C "$build" install DESTDIR="$stage" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; die "make install DESTDIR=$stage"; }

initd=$stage$sysconfdir/init.d
kdicli=$stage$bindir/kdicli
export LD_LIBRARY_PATH="$stage$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for f in "$stage$sbindir/lockd" "$stage$sbindir/masterd" "$stage$sbindir/tabletd" "$kdicli" \
         "$initd/kdi-lockd" "$initd/kdi-masterd" "$initd/kdi-tabletd"; do
  [ -x "$f" ] || die "not installed or not executable: $f"
done
for f in "$stage$libdir/pkgconfig/kdi.pc" "$stage$includedir/kdi/table.h" \
         "$stage$sysconfdir/kdi/kdi.conf" "$stage$prefix/lib/systemd/system/kdi-lockd.service"; do
  [ -f "$f" ] || die "not installed: $f"
done
cmp -s "$src/doc/kdi.conf.sample" "$stage$sysconfdir/kdi/kdi.conf" ||
  fail "the installed kdi.conf is not doc/kdi.conf.sample"
"$kdicli" --version >/dev/null || die "installed kdicli --version"

# --- 2. certificates and kdi.conf -------------------------------------------
step "certificates and kdi.conf"
confdir=$stage$sysconfdir/kdi
conf=$confdir/kdi.conf
tls=$confdir/tls
varlib=$stage$localstatedir/lib/kdi
logdir=$stage$localstatedir/log/kdi
rundir=$stage$localstatedir/run/kdi
mkdir -p "$varlib/tabletd" "$logdir" || die "mkdir in $stage"
"$kdicli" ca init "$tls" >/dev/null || die "kdicli ca init"
for d in $daemons; do
  "$kdicli" ca issue "$tls" --role server --san 127.0.0.1,localhost "$d" >/dev/null ||
    die "kdicli ca issue $d"
done
"$kdicli" ca issue "$tls" --role admin operator >/dev/null || die "kdicli ca issue operator"
[ "$(stat -c %a "$tls/lockd.key")" = 600 ] || fail "$tls/lockd.key is not mode 0600"

free_port lport && free_port mport && free_port tport || die "no free ports"
cat >"$conf" <<EOF
# Written by t/install_test.sh: a one-host cluster inside the staging tree.
[global]
lockd_address = 127.0.0.1:$lport
tls_ca_file = $tls/ca.crt
tls_cert_file = $tls/operator.crt
tls_key_file = $tls/operator.key
log_target = file

[lockd]
lockd_listen_address = 127.0.0.1:$lport
lockd_data_dir = $varlib/lockd
lockd_session_lease_ms = 6000
tls_cert_file = $tls/lockd.crt
tls_key_file = $tls/lockd.key
log_file = $logdir/lockd.log

[masterd]
masterd_listen_address = 127.0.0.1:$mport
tls_cert_file = $tls/masterd.crt
tls_key_file = $tls/masterd.key
log_file = $logdir/masterd.log

[tabletd]
tabletd_listen_address = 127.0.0.1:$tport
tabletd_data_dir = $varlib/tabletd
tls_cert_file = $tls/tabletd.crt
tls_key_file = $tls/tabletd.key
log_file = $logdir/tabletd.log
EOF

# The /etc/default/kdi of this staging tree.
defaults=$tmp/default-kdi
cat >"$defaults" <<EOF
KDI_USER=$(id -un)
KDI_CONF=$conf
KDI_RUN_DIR=$rundir
KDI_SBIN_DIR=$stage$sbindir
LD_LIBRARY_PATH=$LD_LIBRARY_PATH
export LD_LIBRARY_PATH
EOF
export KDI_DEFAULTS=$defaults

# --- 3. start through the init scripts ---------------------------------------
step "starting through the init scripts"
status_is() {  # status_is DAEMON EXPECTED
  "$initd/kdi-$1" status >/dev/null 2>&1
  local rc=$?
  [ $rc -eq "$2" ] || fail "kdi-$1 status: exit $rc, expected $2"
}
for d in $daemons; do status_is "$d" 3; done
for d in $daemons; do
  out=$("$initd/kdi-$d" start 2>&1) || die "kdi-$d start: $out"
  say "$out"
done
for d in $daemons; do
  status_is "$d" 0
  [ -s "$rundir/$d.pid" ] || fail "no pidfile $rundir/$d.pid"
done
out=$("$initd/kdi-lockd" start 2>&1) || fail "kdi-lockd start while running: $out"
case "$out" in *"already running"*) ;; *) fail "second start did not say 'already running': $out" ;; esac
"$initd/kdi-lockd" bogus >/dev/null 2>&1
[ $? -eq 2 ] || fail "kdi-lockd bogus: expected exit 2 (usage)"

# --- 4. startup log lines -----------------------------------------------------
step "checking the startup logs"
version=$("$kdicli" --version | awk '{print $NF}')
check_log() {  # check_log DAEMON TEXT...
  local d=$1 t
  shift
  for t in "$@"; do
    grep -qF -- "$t" "$logdir/$d.log" || fail "$d's log does not mention '$t'"
  done
}
check_log lockd "$version" "$conf" "127.0.0.1:$lport" "$varlib/lockd"
check_log masterd "$version" "$conf" "127.0.0.1:$mport"
check_log tabletd "$version" "$conf" "127.0.0.1:$tport" "$varlib/tabletd"

# --- 5. a cell through the installed kdicli ----------------------------------
step "a cell through the installed kdicli"
export KDI_CONF=$conf
ok=0
for i in $(seq 1 60); do  # masterd assigns META once tabletd registered
  if "$kdicli" create web --family anchor >"$tmp/create.out" 2>&1; then ok=1; break; fi
  sleep 0.5
done
[ $ok -eq 1 ] || { cat "$tmp/create.out"; die "kdicli create web"; }
"$kdicli" set web com.example anchor:home "hello from the install test" ||
  die "kdicli set"
out=$("$kdicli" get web com.example anchor:home) || die "kdicli get"
case "$out" in
  *"hello from the install test"*) say "read back: $out" ;;
  *) fail "kdicli get returned '$out'" ;;
esac
"$kdicli" tables | grep -qw web || fail "kdicli tables does not list web"
# The example writes and erases its own cells in a table of its own.
"$kdicli" create example --family anchor || die "kdicli create example"

# --- 6. the examples against the installed library ---------------------------
step "building the examples with pkg-config"
export PKG_CONFIG_PATH=$stage$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$stage
pcflags=$(pkg-config --cflags --libs kdi) || die "pkg-config --cflags --libs kdi"
n=0
for ex in "$src"/doc/examples/*.cc; do
  [ -f "$ex" ] || continue
  n=$((n + 1))
  name=$(basename "$ex" .cc)
  # shellcheck disable=SC2086
  if ! $CXX -o "$tmp/$name" "$ex" $pcflags -Wl,-rpath,"$stage$libdir" 2>"$tmp/$name.err"; then
    cat "$tmp/$name.err"
    fail "$ex does not build with: $CXX $pcflags"
    continue
  fi
  # Make sure it uses the installed library, not the build tree's.
  ldd "$tmp/$name" | grep -q "$stage$libdir/libkdi" || fail "$name is not linked to $stage$libdir"
  for uri in mem: "local:$tmp/$name-table" "kdi://127.0.0.1:$lport/example"; do
    "$tmp/$name" "$uri" >"$tmp/$name.out" 2>&1 ||
      { cat "$tmp/$name.out"; fail "$name $uri"; }
  done
done
[ $n -gt 0 ] || fail "no examples in $src/doc/examples"

# --- 7. stop through the init scripts ----------------------------------------
step "stopping through the init scripts"
pids=""
for d in $daemons; do pids="$pids $(cat "$rundir/$d.pid" 2>/dev/null)"; done
for d in tabletd masterd lockd; do
  out=$("$initd/kdi-$d" stop 2>&1) || fail "kdi-$d stop: $out"
  step "$out"
done
for d in $daemons; do status_is "$d" 3; done
for p in $pids; do alive "$p" && fail "daemon pid $p still running after stop"; done
left=$(staged_pids)
[ -z "$left" ] || fail "processes left from $stage: $left"

# --- 7b. as root: the unprivileged-user path of the init script ---------------
# Run as root (as in CI), the scripts normally start the daemons as user kdi
# through su. The account `nobody` stands in for kdi here, so the test needs
# no user of its own: lockd alone is started and stopped that way.
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
  step "lockd as user nobody through su"
  # kdicli ca init makes the directory 0700: the daemon's user must reach its
  # certificate (keys stay 0600, lockd's owned by that user).
  chmod 755 "$tmp" "$tls"
  chown -R nobody "$varlib/lockd" "$logdir" "$tls/lockd.key"
  echo "KDI_USER=nobody" >>"$defaults"
  out=$("$initd/kdi-lockd" start 2>&1) || fail "kdi-lockd start as nobody: $out"
  status_is lockd 0
  pid=$(cat "$rundir/lockd.pid" 2>/dev/null)
  uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
  [ "$uid" = "$(id -u nobody)" ] || fail "lockd (pid $pid) runs as uid '$uid', not nobody"
  "$initd/kdi-lockd" stop >/dev/null 2>&1 || fail "kdi-lockd stop (nobody)"
  status_is lockd 3
  alive "$pid" && fail "lockd pid $pid (nobody) still running after stop"
fi

# --- 8. uninstall --------------------------------------------------------------
step "make uninstall"
"$MAKE" -s -C "$build" uninstall DESTDIR="$stage" >"$tmp/uninstall.log" 2>&1 ||
  { cat "$tmp/uninstall.log"; fail "make uninstall DESTDIR=$stage"; }
[ -f "$conf" ] || fail "make uninstall removed the edited $conf"
rest=$(find "$stage" \( -type f -o -type l \) ! -path "$confdir/*" ! -path "$stage$localstatedir/*")
[ -z "$rest" ] || fail "make uninstall left: $rest"

[ $failed -eq 0 ] && step "PASS: install, init scripts, kdicli, examples, uninstall"
exit $failed
