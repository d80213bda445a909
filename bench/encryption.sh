#!/usr/bin/env bash
# Part 4 of `make bench`: what encryption costs, measured by the product's
# own command, `stowage bench encryption`, on the lab's rbd pool (plain,
# QEMU-layer LUKS, librbd LUKS2) and on its dir pool (plain, QEMU-layer
# LUKS). The command makes its scratch images, measures them through QEMU's
# block layer (qemu-storage-daemon + qemu-img bench), and removes them,
# also on failure or Ctrl+C; this script builds nothing and makes nothing.
#
# BENCH_QUICK=1: `--quick` (32 MiB images, one run); else the command's
# defaults (256 MiB images, medians of 3 runs).
# Writes $BENCH_OUT/encryption.json and $BENCH_OUT/encryption.md.
# Usage: BENCH_OUT=DIR [BENCH_QUICK=1] bench/encryption.sh   (needs bin/stowage)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:?set BENCH_OUT to the directory for the results}
mkdir -p "$OUT"
set -a
# shellcheck disable=SC1091
. lab/env
set +a
BIN=bin/stowage
[[ -x $BIN ]] || { echo "bench/encryption.sh: $BIN is missing: run make build" >&2; exit 2; }

ARGS=()
[[ -n ${BENCH_QUICK:-} ]] && ARGS=(--quick)
WORK=$(mktemp -d /var/tmp/t-bench-enc.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

declare -A TOOK
for kind in rbd dir; do
	pool=$STOWAGE_LAB_RBD_POOL
	[[ $kind == dir ]] && pool=$STOWAGE_LAB_DIR_POOL
	t0=$(date +%s.%N)
	"$BIN" bench encryption --uri "$STOWAGE_LAB_URI" --pool "$pool" "${ARGS[@]}" --json >"$WORK/$kind.json"
	TOOK[$kind]=$(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc -l)")
done

# Seed 003: fio with libaio and direct I/O inside a pinned 4-vCPU VM on RBD,
# as the seed printed it: plain, then each engine's difference in percent.
SEED='{"seq_read_1m_qd8":  {"plain_mib_s": 349,   "qemu_luks_pct": -43, "librbd_luks_pct": -0.5},
       "seq_read_1m_qd1":  {"plain_mib_s": 176,   "qemu_luks_pct": -40, "librbd_luks_pct": -12},
       "rand_read_4k_qd16": {"plain_iops": 19100, "qemu_luks_pct": -12, "librbd_luks_pct": -2.4},
       "seq_write_1m_qd8": {"plain_mib_s": 64.7,  "qemu_luks_pct": -23, "librbd_luks_pct": -8}}'

jq -n --slurpfile rbd "$WORK/rbd.json" --slurpfile dir "$WORK/dir.json" --argjson seed "$SEED" \
	--argjson rbd_s "${TOOK[rbd]}" --argjson dir_s "${TOOK[dir]}" --arg args "${ARGS[*]}" '
	($rbd[0]) as $r | ($dir[0]) as $d |
	{encryption: {
		rbd: $r, dir: $d, seed_003: $seed,
		command_wall_s: {rbd: $rbd_s, dir: $dir_s},
		command_args: $args,
		# Flat ratio keys: pool, format, workload, against plain, in percent.
		ratios: ( ($r.ratios | with_entries(.key = "rbd_" + .key))
			+ ($d.ratios | with_entries(.key = "dir_" + .key))
			+ ($seed | to_entries | map(
				{key: "seed003_qemu_luks_vs_plain_\(.key)_pct", value: .value.qemu_luks_pct},
				{key: "seed003_librbd_luks_vs_plain_\(.key)_pct", value: .value.librbd_luks_pct}) | from_entries) )
	}}' >"$OUT/encryption.json"

# Markdown helpers (the figures come from the JSON just written).
J=$OUT/encryption.json
fig() { # fig POOL KEY FORMAT → "349 MiB/s" or "19.1k IOPS"
	jq -r --arg p "$1" --arg k "$2" --arg f "$3" '.encryption[$p].figures[$k][$f].median as $v |
		if $v == null then "-" elif ($k | endswith("iops")) then
			(if $v >= 1000 then "\($v / 100 | round / 10)k IOPS" else "\($v | round) IOPS" end)
		elif $v >= 100 then "\($v | round) MiB/s" else "\($v * 10 | round / 10) MiB/s" end' "$J"
}
pct() { # pct VALUE_JQ_PATH → "-43%" / "-0.5%" (one decimal below 10 points, as the command's table)
	jq -r "($1) as \$p | if \$p == null then \"-\" else (\$p | fabs) as \$a |
		((if \$p < 0 then \"-\" else \"+\" end) + (if \$a < 10 then (\$a * 10 | round) as \$t | \"\(\$t / 10 | floor).\(\$t % 10)\" else \"\(\$a | round)\" end) + \"%\") end" "$J"
}
secs() { jq -r "($1) as \$s | if \$s == null then \"-\" elif \$s < 1 then \"\(\$s * 100 | round / 100) s\" else \"\(\$s * 10 | round / 10) s\" end" "$J"; }
LABELS=(seq_read_1m_qd8_mib_s "1M seq read QD8" seq_read_1m_qd1_mib_s "1M seq read QD1" rand_read_4k_qd16_iops "4K random read QD16"
	seq_write_1m_qd8_mib_s "1M seq write QD8" seq_write_1m_qd1_mib_s "1M seq write QD1")
# rows POOL FORMAT...: a table row per workload, plain then each format
# with its difference from plain.
rows() {
	local pool=$1 i k w f line
	shift
	for ((i = 0; i < ${#LABELS[@]}; i += 2)); do
		k=${LABELS[i]}
		w=${k%_mib_s}
		w=${w%_iops}
		line="| ${LABELS[i + 1]} | $(fig "$pool" "$k" plain) |"
		for f in "$@"; do
			line+=" $(fig "$pool" "$k" "$f") ($(pct ".encryption.$pool.ratios.${f//-/_}_vs_plain_${w}_pct")) |"
		done
		echo "$line"
	done
}
size_mib=$(jq '.encryption.rbd.size_bytes / 1048576' "$J")
runs=$(jq '.encryption.rbd.runs' "$J")

{
	echo "## 4. Encryption engines: \`stowage bench encryption\` on RBD and on a dir pool"
	echo
	echo "How measured: \`bin/stowage bench encryption --uri $STOWAGE_LAB_URI --pool $STOWAGE_LAB_RBD_POOL${ARGS:+ ${ARGS[*]}} --json\`, then the same with"
	echo "\`--pool $STOWAGE_LAB_DIR_POOL\` (this section: \`BENCH_OUT=DIR$([[ -n ${BENCH_QUICK:-} ]] && echo ' BENCH_QUICK=1') bench/encryption.sh\`)."
	echo "The command creates scratch images of $size_mib MiB (\`stowage-bench-<random>-{plain,qemu-luks,librbd-luks2}\`; QEMU-layer LUKS by"
	echo "\`qemu-img create -f luks\`, LUKS1 aes-256-xts-plain64; librbd LUKS2 by go-ceph's EncryptionFormat, AES-256), and removes them afterwards."
	echo "$(jq -r .encryption.rbd.method "$J")"
	echo
	echo "RBD pool (Ceph 16, one memstore OSD on 127.0.0.1, pool size 1), medians of $runs run(s):"
	echo
	echo "| workload | plain | QEMU-layer LUKS | librbd LUKS2 |"
	echo "|---|---|---|---|"
	rows rbd qemu-luks librbd-luks2
	echo "| create (once) | $(secs '.encryption.rbd.create_s.plain') | $(secs '.encryption.rbd.create_s["qemu-luks"]') | $(secs '.encryption.rbd.create_s["librbd-luks2"]') |"
	echo "| open (median) | $(secs '.encryption.rbd.open_s.plain.median') | $(secs '.encryption.rbd.open_s["qemu-luks"].median') | $(secs '.encryption.rbd.open_s["librbd-luks2"].median') |"
	echo "| unlock (each open = open − plain's) | - | $(secs '.encryption.rbd.unlock_s["qemu-luks"]') | $(secs '.encryption.rbd.unlock_s["librbd-luks2"]') |"
	echo
	echo "Next to seed 003 (fio, libaio, direct I/O, inside a pinned 4-vCPU VM on a real RBD cluster): the cost of each engine against plain."
	echo
	echo "| workload | seed plain | lab plain | seed QEMU LUKS | lab QEMU LUKS | seed librbd LUKS | lab librbd LUKS2 |"
	echo "|---|---|---|---|---|---|---|"
	for ((i = 0; i < 8; i += 2)); do
		k=${LABELS[i]}
		w=${k%_mib_s}
		w=${w%_iops}
		sp=$(jq -r --arg w "$w" '.encryption.seed_003[$w] | if .plain_iops then "\(.plain_iops / 100 | round / 10)k IOPS" else "\(.plain_mib_s) MiB/s" end' "$J")
		echo "| ${LABELS[i + 1]} | $sp | $(fig rbd "$k" plain) | $(pct ".encryption.ratios.seed003_qemu_luks_vs_plain_${w}_pct") | $(pct ".encryption.rbd.ratios.qemu_luks_vs_plain_${w}_pct") | $(pct ".encryption.ratios.seed003_librbd_luks_vs_plain_${w}_pct") | $(pct ".encryption.rbd.ratios.librbd_luks2_vs_plain_${w}_pct") |"
	done
	echo
	echo "Dir pool (ext4 on the VM's virtio disk, O_DIRECT), medians of $runs run(s):"
	echo
	echo "| workload | plain | QEMU-layer LUKS |"
	echo "|---|---|---|"
	rows dir qemu-luks
	echo "| create (once) | $(secs '.encryption.dir.create_s.plain') | $(secs '.encryption.dir.create_s["qemu-luks"]') |"
	echo "| unlock (each open) | - | $(secs '.encryption.dir.unlock_s["qemu-luks"]') |"
	echo
	echo "Reading it: on 1 MiB sequential reads at QD8 QEMU-layer LUKS cost $(pct '.encryption.rbd.ratios.qemu_luks_vs_plain_seq_read_1m_qd8_pct')"
	echo "here and librbd LUKS2 $(pct '.encryption.rbd.ratios.librbd_luks2_vs_plain_seq_read_1m_qd8_pct') (seed 003: -43% and -0.5%): QEMU decrypts on its one I/O thread, librbd"
	echo "across its own threads. On files, where librbd is no option, QEMU-layer LUKS cost $(pct '.encryption.dir.ratios.qemu_luks_vs_plain_seq_read_1m_qd8_pct') on the same workload."
	echo
	echo "What differs from the seed, so compare the percentages, not the MiB/s: the lab's OSD keeps its data in memory (memstore) and"
	echo "talks to QEMU over loopback, so there is no disk and no network, and the crypto's CPU cost weighs more against the I/O than on a"
	echo "real cluster; the machine has 2 cores shared by the OSD, the monitor, the storage daemon and qemu-img (the seed had 4 pinned"
	echo "vCPUs for the guest alone), and it is noisy; and the load comes from \`qemu-img bench\` on the host through an NBD export of a"
	echo "qemu-storage-daemon, not fio in a guest through virtio (QEMU 7.2's qemu-img bench cannot open an encrypted image itself: it takes"
	echo "no --object). 4K \"random\" reads are a prime stride over the image (qemu-img bench has no random mode)."
	echo "Unlocking is paid at every open of an encrypted image (each VM start or attach), never per I/O: both engines derive the key with"
	echo "a PBKDF tuned to take about 2 s of one core (PBKDF2 in QEMU's LUKS1, Argon2 in librbd's LUKS2); creation adds the header and"
	echo "a benchmark of the PBKDF. The command took $(jq -r '.encryption.command_wall_s.rbd' "$J") s on the rbd pool and"
	echo "$(jq -r '.encryption.command_wall_s.dir' "$J") s on the dir pool, creation and removal included."
} >"$OUT/encryption.md"
echo "encryption: wrote $OUT/encryption.json and $OUT/encryption.md" >&2
