#!/usr/bin/env bash
# bench/fleet.sh: issue 14 §3, a fleet. Part script of `make bench`.
#
# Starts (or reuses) lab/fleet's sshds, then for N hosts (BENCH_QUICK=1:
# 10; else 10, 50, 100) measures, as medians over several runs:
#   console    the real binary in tmux (160x45), from launch until its log
#              says "all hosts answered" (the last host's first refresh
#              ended); the pane is then checked to show hosts connected
#   inventory  `stowage inventory --json` over the same N hosts
#   virsh      a shell loop, one virsh process per host over qemu+ssh (the
#              system ssh, through the fleet's ssh_config), each running
#              `pool-list --all --details; vol-list --details POOL` for every
#              pool; `list --all`
#   rss        the console's peak RSS (VmHWM) once the fleet is shown
# and writes $BENCH_OUT/fleet.json and $BENCH_OUT/fleet.md.
#
# Hosts: BENCH_FLEET_DRIVER=fixture (default) opens, through each host's
# sshd, the test driver inside the lab's libvirtd on a copy of
# testdata/host.xml (5 pools, 6 volumes, 2 VMs per host), so the figures
# do not depend on what other benchmarks left in the lab's libvirtd;
# BENCH_FLEET_DRIVER=system opens qemu:///system, whatever it holds.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${BENCH_OUT:?set BENCH_OUT to the directory for fleet.json and fleet.md}
DRIVER=${BENCH_FLEET_DRIVER:-fixture}
case $DRIVER in fixture | system) ;; *)
	echo "bench/fleet.sh: BENCH_FLEET_DRIVER=$DRIVER: use fixture or system" >&2
	exit 2
	;;
esac
if [ "${BENCH_QUICK:-}" = 1 ]; then
	SIZES=(10)
	CONSOLE_RUNS=2 INVENTORY_RUNS=2
	declare -A VIRSH_RUNS=([10]=1)
else
	SIZES=(10 50 100)
	CONSOLE_RUNS=3 INVENTORY_RUNS=3
	# One virsh process per host is about 0.3-0.5 s each here: the loop
	# over 100 hosts alone takes most of a minute, so it runs fewer times.
	declare -A VIRSH_RUNS=([10]=3 [50]=1 [100]=1)
fi
MAXN=${SIZES[-1]}

mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/t-bench-fleet.XXXXXX)
TMUX_SOCK=t-bench-fleet-$$
STARTED_FLEET=0
CONSOLE_PID=
cleanup() {
	if [ -n "$CONSOLE_PID" ] && alive "$CONSOLE_PID"; then kill "$CONSOLE_PID" 2>/dev/null || true; fi
	tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
	if [ "$STARTED_FLEET" = 1 ]; then "$ROOT/lab/fleet" down >&2 || true; fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
# alive PID: running and not a zombie (tmux may reap its pane late).
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$(now)"; }
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$TMP/results.tsv"; }

# The lab and the binary.
[ -f "$ROOT/lab/env" ] || { echo "bench/fleet.sh: the lab is not up (no lab/env): run lab/up" >&2; exit 1; }
virsh -c qemu:///system version >/dev/null 2>&1 || { echo "bench/fleet.sh: the lab's libvirtd does not answer" >&2; exit 1; }
BIN=$TMP/stowage
(cd "$ROOT" && GOFLAGS=-tags=pacific go build -o "$BIN" .)

# The fleet: reuse one of at least MAXN hosts, else start (and later stop) one.
if ! "$ROOT/lab/fleet" status >/dev/null 2>&1 || [ "$(cat "${STOWAGE_LAB_DIR:-/var/tmp/stowage-lab}/fleet/size")" -lt "$MAXN" ]; then
	"$ROOT/lab/fleet" up "$MAXN" >&2
	STARTED_FLEET=1
fi
# shellcheck disable=SC1091
. "${STOWAGE_LAB_DIR:-/var/tmp/stowage-lab}/fleet/env"

# Where the CPU goes: ticks (self and reaped children) of the fleet's
# sshds, of the lab's libvirtd, and of one process.
TICK=$(getconf CLK_TCK)
SSHD_PIDS=$(cat "${STOWAGE_LAB_DIR:-/var/tmp/stowage-lab}"/pids/fleet-[0-9][0-9][0-9].pid)
libvirtd_pid() { cat /run/libvirtd.pid 2>/dev/null || cat "${STOWAGE_LAB_DIR:-/var/tmp/stowage-lab}/pids/libvirtd.pid"; }
ticks() { for p in "$@"; do [ -r "/proc/$p/stat" ] && sed 's/.*) //' "/proc/$p/stat"; done | awk '{t += $12 + $13 + $14 + $15} END {print t + 0}'; }
own_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
cpu_s() { awk -v a="$1" -v b="$2" -v t="$TICK" 'BEGIN {printf "%.2f", (b - a) / t}'; }

sshd_children_gone() {
	local p
	for _ in $(seq 1 100); do
		for p in $SSHD_PIDS; do
			[ -s "/proc/$p/task/$p/children" ] && break
		done
		[ -s "/proc/$p/task/$p/children" ] || return 0
		sleep 0.02
	done
}

host_uri() { # host_uri NAME [virsh]
	local q=
	[ "${2:-}" = virsh ] && q="?command=$FLEET_SSH"
	if [ "$DRIVER" = fixture ]; then echo "test+ssh://$1$FLEET_FIXTURE$q"; else echo "qemu+ssh://$1/system$q"; fi
}

# A config of the first N hosts, as an admin's config.yaml would name them.
config_for() {
	local n=$1 d=$TMP/cfg-$1 i name
	mkdir -p "$d/stowage"
	{
		echo "hosts:"
		for i in $(seq 1 "$n"); do
			name=$(printf 'fleet-%03d' "$i")
			printf '  - name: %s\n    uri: %s\n' "$name" "$(host_uri "$name")"
		done
	} >"$d/stowage/config.yaml"
	echo "$d"
}

# stowage_env STATE: the fleet's HOME (its ssh_config), no agent.
run_stowage() {
	local cfg=$1 state=$2
	shift 2
	env -u SSH_AUTH_SOCK -u XDG_RUNTIME_DIR HOME="$FLEET_HOME" XDG_CONFIG_HOME="$cfg" XDG_STATE_HOME="$state" "$@"
}

console_run() { # console_run N RUN
	local n=$1 r=$2 cfg state log t0 line elapsed pane hwm rows
	cfg=$(config_for "$n")
	state=$TMP/state-$n-$r
	mkdir -p "$state"
	log=$state/stowage/stowage.log
	local s0 l0 lpid
	lpid=$(libvirtd_pid)
	s0=$(ticks $SSHD_PIDS)
	l0=$(ticks "$lpid")
	t0=$(now)
	tmux -L "$TMUX_SOCK" new-session -d -s "c$n-$r" -x 160 -y 45 \
		"env -u SSH_AUTH_SOCK HOME='$FLEET_HOME' XDG_CONFIG_HOME='$cfg' XDG_STATE_HOME='$state' TERM=xterm-256color '$BIN'"
	CONSOLE_PID=$(tmux -L "$TMUX_SOCK" list-panes -t "c$n-$r" -F '#{pane_pid}')
	line=
	for _ in $(seq 1 12000); do
		line=$(grep -m1 'msg="all hosts answered"' "$log" 2>/dev/null || true)
		[ -n "$line" ] && break
		alive "$CONSOLE_PID" || break
		sleep 0.01
	done
	elapsed=$(since "$t0")
	[ -n "$line" ] || { echo "bench/fleet.sh: console over $n hosts never logged 'all hosts answered'" >&2; exit 1; }
	record console_cpu_stowage_s "$n" "$(cpu_s 0 "$(own_ticks "$CONSOLE_PID")")"
	record console_cpu_libvirtd_s "$n" "$(cpu_s "$l0" "$(ticks "$lpid")")"
	pane=$(tmux -L "$TMUX_SOCK" capture-pane -p -t "c$n-$r")
	hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$CONSOLE_PID/status")
	kill "$CONSOLE_PID"
	while alive "$CONSOLE_PID"; do sleep 0.05; done
	CONSOLE_PID=
	# An sshd's CPU per connection is counted once its child exited.
	sshd_children_gone
	record console_cpu_sshd_s "$n" "$(cpu_s "$s0" "$(ticks $SSHD_PIDS)")"
	# The log's own figures, and what the screen shows.
	local connected down logged
	connected=$(sed -n 's/.* connected=\([0-9]*\).*/\1/p' <<<"$line")
	down=$(sed -n 's/.* down=\([0-9]*\).*/\1/p' <<<"$line")
	logged=$(sed -n 's/.* elapsed=\([0-9.]*\)\(m\{0,1\}s\).*/\1 \2/p' <<<"$line" | awk '{print ($2 == "ms") ? $1 / 1000 : $1}')
	rows=$(grep -c ' connected ' <<<"$pane" || true)
	if [ "$connected" != "$n" ] || [ "$down" != 0 ]; then
		echo "bench/fleet.sh: console over $n hosts: $connected connected, $down down (want all $n up): $line" >&2
		exit 1
	fi
	# A 45-line terminal shows about 38 host rows under the hosts line and
	# the doctor's banner; every row shown must say connected.
	if grep -q 'disconnected\|degraded' <<<"$pane" || [ "$rows" -lt $((n < 30 ? n : 30)) ] || ! grep -q "$n/$n" <<<"$pane"; then
		echo "bench/fleet.sh: console over $n hosts: the screen does not show every host connected:" >&2
		echo "$pane" >&2
		exit 1
	fi
	record console_s "$n" "$elapsed"
	record console_logged_s "$n" "$logged"
	record console_vmhwm_mb "$n" "$(awk -v k="$hwm" 'BEGIN {printf "%.1f", k / 1024}')"
	echo "fleet: console N=$n run $r: ${elapsed}s to all answered (log: ${logged}s), VmHWM ${hwm} kB" >&2
}

inventory_run() { # inventory_run N RUN
	local n=$1 r=$2 cfg t0 elapsed got
	cfg=$(config_for "$n")
	mkdir -p "$TMP/inv-state"
	local s0 l0 lpid
	lpid=$(libvirtd_pid)
	s0=$(ticks $SSHD_PIDS)
	l0=$(ticks "$lpid")
	t0=$(now)
	run_stowage "$cfg" "$TMP/inv-state" /usr/bin/time -f '%U %S' -o "$TMP/inv.time" "$BIN" inventory --json >"$TMP/inv.json" 2>"$TMP/inv.err" ||
		{ echo "bench/fleet.sh: stowage inventory over $n hosts failed:" >&2; head -5 "$TMP/inv.err" >&2; exit 1; }
	elapsed=$(since "$t0")
	sshd_children_gone
	record inventory_cpu_stowage_s "$n" "$(awk '{printf "%.2f", $1 + $2}' "$TMP/inv.time")"
	record inventory_cpu_sshd_s "$n" "$(cpu_s "$s0" "$(ticks $SSHD_PIDS)")"
	record inventory_cpu_libvirtd_s "$n" "$(cpu_s "$l0" "$(ticks "$lpid")")"
	got=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(1 for h in d["hosts"] if h.get("pools")))' "$TMP/inv.json")
	[ "$got" = "$n" ] || { echo "bench/fleet.sh: inventory over $n hosts listed pools for $got" >&2; exit 1; }
	record inventory_s "$n" "$elapsed"
	echo "fleet: inventory N=$n run $r: ${elapsed}s" >&2
}

virsh_run() { # virsh_run N RUN
	local n=$1 r=$2 t0 elapsed i name cmds p
	cmds="pool-list --all --details"
	for p in $POOLS; do cmds="$cmds; vol-list --details $p"; done
	cmds="$cmds; list --all"
	t0=$(now)
	for i in $(seq 1 "$n"); do
		name=$(printf 'fleet-%03d' "$i")
		HOME=$FLEET_HOME virsh -q -c "$(host_uri "$name" virsh)" "$cmds" >/dev/null 2>"$TMP/virsh.err" ||
			{ echo "bench/fleet.sh: virsh on $name failed:" >&2; cat "$TMP/virsh.err" >&2; exit 1; }
	done
	elapsed=$(since "$t0")
	record virsh_loop_s "$n" "$elapsed"
	echo "fleet: virsh loop N=$n run $r: ${elapsed}s" >&2
}

# The active pools, read once (every host shows the same libvirtd or fixture).
POOLS=$(virsh -q -c "$(host_uri fleet-001 virsh)" pool-list --name | awk 'NF')
VIRSH_CMDS="pool-list --all --details; vol-list --details POOL (each of $(echo "$POOLS" | wc -w) pools); list --all"

# tmux's server starts once, before any timing (its first start took
# seconds on a loaded machine); the holder session keeps it up.
tmux -L "$TMUX_SOCK" new-session -d -s holder -x 160 -y 45 "sleep 100000"

# Rounds interleave the three measurements, so a burst of load elsewhere
# on the machine spreads over all of them rather than one.
for n in "${SIZES[@]}"; do
	rounds=$((CONSOLE_RUNS > INVENTORY_RUNS ? CONSOLE_RUNS : INVENTORY_RUNS))
	for r in $(seq 1 "$rounds"); do
		[ "$r" -le "$CONSOLE_RUNS" ] && console_run "$n" "$r"
		[ "$r" -le "$INVENTORY_RUNS" ] && inventory_run "$n" "$r"
		[ "$r" -le "${VIRSH_RUNS[$n]}" ] && virsh_run "$n" "$r"
	done
done

python3 "$ROOT/bench/fleet_report.py" "$TMP/results.tsv" "$OUT" "$DRIVER" "$VIRSH_CMDS" "${BENCH_QUICK:-0}"
