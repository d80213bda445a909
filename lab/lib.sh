# shellcheck shell=bash
# Shared helpers for lab/up, lab/down and lab/status. Sourced, never run.
#
# Every daemon the lab starts is started here, in the foreground under
# setsid, and its PID is written to $LAB_DIR/pids/NAME.pid. lab/down stops
# exactly those PIDs. A daemon that was already running before the lab
# (say, the host's own libvirtd) is reused and never recorded, so lab/down
# never stops it. Nothing is ever stopped by name.

set -euo pipefail

LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# One directory for everything the lab writes: pids, logs, Ceph, LUN files,
# the dir pool. Shared by every checkout on the machine, because libvirtd,
# Ceph's ports and tgtd are machine-wide anyway.
LAB_DIR=${STOWAGE_LAB_DIR:-/var/tmp/stowage-lab}
LAB_ENV=$LAB_SRC/env
PIDS=$LAB_DIR/pids
LOGS=$LAB_DIR/logs

# Names of everything the lab creates in libvirt. The prefix is what keeps
# the lab away from pools, VMs and secrets it did not create.
LAB_PREFIX=stowage-lab
DIR_POOL=$LAB_PREFIX-dir
RBD_POOL=$LAB_PREFIX-rbd
ISCSI_POOL=$LAB_PREFIX-iscsi
LAB_VM=$LAB_PREFIX-vm
CEPH_POOL=stowage
CEPH_USER=libvirt
CEPH_DIR=$LAB_DIR/ceph
CEPH_CONF=$CEPH_DIR/ceph.conf
ISCSI_PORTAL=127.0.0.1:3260
ISCSI_TARGET=iqn.2026-11.lab.stowage:san1
ISCSI_INITIATOR=iqn.2026-11.lab.stowage:initiator
LIBVIRT_URI=qemu:///system
# Extra targets for the LVM-on-iSCSI tests on the nested hypervisor (see
# lab/hypervisor): san2 with three LUNs, san3 behind one-way CHAP.
ISCSI_SAN2=iqn.2026-11.lab.stowage:san2
ISCSI_SAN2_TID=12
ISCSI_SAN2_LUNS=3
ISCSI_SAN3=iqn.2026-11.lab.stowage:san3-chap
ISCSI_SAN3_TID=13
ISCSI_CHAP_USER=stowage-lab-chap
ISCSI_CHAP_FILE=$LAB_DIR/iscsi/chap.secret
# An sshd of the lab's own on loopback, so qemu+ssh is tested for real.
SSH_PORT=2222
SSH_DIR=$LAB_DIR/ssh
# A second libvirtd of the lab's own, listening for qemu+tls on loopback
# only (its own CA and certificates), so TLS is tested at all. It runs
# unprivileged (user nobody, a session daemon with every directory under
# $TLS_DIR), so it never touches the lab's system libvirtd or its VMs.
TLS_PORT=16515
TLS_DIR=$LAB_DIR/tls
TLS_POOL=$LAB_PREFIX-tls-dir
TLS_URI="qemu+tls://127.0.0.1:$TLS_PORT/session?pkipath=$TLS_DIR/client"
# Fixed so that lab/up redefines the cephx secret idempotently.
RBD_SECRET_UUID=5a7d0e1c-3b2f-4c55-9e60-57a6e1ab0001

# The Debian packages the lab needs, with the command each one provides
# (checked instead of dpkg, so a host with the tools from elsewhere is fine).
LAB_PACKAGES=(
	"libvirtd:libvirt-daemon-system"
	"virsh:libvirt-clients"
	"/usr/lib/x86_64-linux-gnu/libvirt/storage-backend/libvirt_storage_backend_rbd.so:libvirt-daemon-driver-storage-rbd"
	"/usr/lib/x86_64-linux-gnu/libvirt/storage-backend/libvirt_storage_backend_iscsi-direct.so:libvirt-daemon-driver-storage-iscsi-direct"
	"qemu-system-x86_64:qemu-system-x86"
	"qemu-img:qemu-utils"
	# QEMU's rbd block driver: VMs with RBD disks (librbd encryption) start only with it.
	"/usr/lib/x86_64-linux-gnu/qemu/block-rbd.so:qemu-block-extra"
	"ceph-mon:ceph-mon"
	"ceph-osd:ceph-osd"
	"ceph-mgr:ceph-mgr"
	"ceph:ceph-common"
	"/usr/include/rados/librados.h:librados-dev"
	"/usr/include/rbd/librbd.h:librbd-dev"
	"tgtd:tgt"
	"iscsi-ls:libiscsi-bin"
	"tmux:tmux"
	"uuidgen:uuid-runtime"
	"/usr/sbin/sshd:openssh-server"
	"debootstrap:debootstrap"
)

say() { printf 'lab: %s\n' "$*" >&2; }
die() {
	printf 'lab: FAILED: %s\n' "$*" >&2
	exit 1
}

have() {
	case $1 in
	/*) [ -e "$1" ] ;;
	*) command -v "$1" >/dev/null 2>&1 ;;
	esac
}

# alive PID: the process exists and is not a zombie.
alive() {
	local pid=$1 state
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
	state=$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
	[ "$state" != Z ]
}

recorded_pid() { cat "$PIDS/$1.pid" 2>/dev/null || true; }

# running NAME: a daemon the lab started is alive.
running() { alive "$(recorded_pid "$1")"; }

# start_daemon NAME CMD...: start CMD in the foreground of a new session,
# record its PID, and check it is still alive a moment later.
start_daemon() {
	local name=$1
	shift
	mkdir -p "$PIDS" "$LOGS"
	setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
	echo $! >"$PIDS/$name.pid"
	sleep 0.3
	if ! running "$name"; then
		tail -n 20 "$LOGS/$name.log" >&2 || true
		die "$name exited right after start (log: $LOGS/$name.log)"
	fi
	say "started $name (pid $(recorded_pid "$name"))"
}

# stop_daemon NAME: SIGTERM the recorded PID, wait, then SIGKILL.
stop_daemon() {
	local name=$1 pid i
	pid=$(recorded_pid "$name")
	if alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		for i in $(seq 1 50); do
			alive "$pid" || break
			sleep 0.1
		done
		if alive "$pid"; then
			say "$name (pid $pid) ignored SIGTERM for 5 s; sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.2
		fi
		say "stopped $name (pid $pid)"
	fi
	rm -f "$PIDS/$name.pid"
}

# wait_for SECONDS DESCRIPTION CMD...: retry CMD until it succeeds.
wait_for() {
	local secs=$1 what=$2 i
	shift 2
	for i in $(seq 1 $((secs * 4))); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.25
	done
	return 1
}

# Files the lab installs outside $LAB_DIR, one "SHA256 PATH" line each.
# lab/down removes exactly these, and only while they still hold what the
# lab wrote: a file someone else made or changed is never touched.
INSTALLED=$LAB_DIR/installed

sha256_of() { sha256sum <"$1" | cut -d' ' -f1; }

# install_file SRC DEST MODE: copy SRC to DEST (atomically, with MODE)
# unless DEST is someone else's. A file the lab installed and nobody changed
# since is refreshed (a rebuilt cluster has new keys); any other existing
# DEST is left as it is. Returns 1 when DEST was left alone.
install_file() {
	local src=$1 dest=$2 mode=$3 sum cur recorded tmp
	sum=$(sha256_of "$src")
	recorded=$(awk -v p="$dest" '$2 == p {print $1}' "$INSTALLED" 2>/dev/null || true)
	if [ -e "$dest" ] || [ -L "$dest" ]; then
		cur=$(sha256_of "$dest" 2>/dev/null || true)
		if [ "$cur" = "$sum" ]; then
			return 0
		fi
		if [ -z "$recorded" ] || [ "$cur" != "$recorded" ]; then
			say "left $dest alone: the lab did not install it (or it changed since)"
			return 1
		fi
	fi
	mkdir -p "$(dirname "$dest")"
	tmp=$(mktemp "$dest.lab.XXXXXX")
	cat "$src" >"$tmp"
	chmod "$mode" "$tmp"
	mv -f "$tmp" "$dest"
	{
		awk -v p="$dest" '$2 != p' "$INSTALLED" 2>/dev/null || true
		echo "$sum $dest"
	} >"$INSTALLED.tmp"
	mv -f "$INSTALLED.tmp" "$INSTALLED"
	say "installed $dest"
}

# uninstall_files: remove what install_file installed, if unchanged.
uninstall_files() {
	[ -f "$INSTALLED" ] || return 0
	local sum path
	while read -r sum path; do
		[ -n "$path" ] && [ -e "$path" ] || continue
		if [ "$(sha256_of "$path")" = "$sum" ]; then
			rm -f "$path" && say "removed $path (lab/up installed it)"
		else
			say "left $path: changed since lab/up installed it"
		fi
	done <"$INSTALLED"
	rm -f "$INSTALLED"
}

ceph_admin() { timeout 30 ceph -c "$CEPH_CONF" -n client.admin -k "$CEPH_DIR/client.admin.keyring" "$@"; }

pool_running() {
	local info
	info=$(virsh_lab pool-info "$1" 2>/dev/null) || return 1
	[[ $info =~ State:\ +running ]]
}

virsh_lab() { timeout 60 virsh -q -c "$LIBVIRT_URI" "$@"; }
