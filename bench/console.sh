#!/usr/bin/env bash
# Part 2 of `make bench`: the console, with Go benchmarks and one
# measurement of the real binary in tmux.
#
# Go benchmarks (medians over -count runs):
#   BenchmarkScroll10k         (ui/app)   a frame while scrolling 10,000 volumes: the down key's
#                                         binding pressed through the root model, View() timed; p50/p99
#   BenchmarkFilter100000Rows  (ui/table) typing "v9q2" in the filter line of 100,000 rows, each
#                                         keystroke answered by the filtered view; p50/p99, first keystroke
#   BenchmarkConsoleMemory10k  (ui/app)   the heap the console keeps with 10,000 volumes open, and what
#                                         one poll of an unchanged host allocates
#   BenchmarkFirstRows10k      (cli, lab) from a finished dial to the first rows of a 10,000-volume pool
# The real binary: a dir pool of N sparse 1 MiB files (N=10000) on the lab's
# libvirtd; bin/stowage runs in a detached tmux session of 160x45, the keys
# open the pool (/ filter on its name, enter, enter), the script waits until
# the first volume's row shows its size (the screen, not a clock), and reads
# the process's peak RSS (VmHWM in /proc/PID/status). In the full run it
# stays open DWELL seconds more (two polls) and reads VmHWM again. The same
# is done, in turn in every round, with the peer: stowage as it was before
# the memory cut (PEER_REF, default the parent of the first commit titled
# "console memory:", else main), built into a temporary directory.
#
# Writes $BENCH_OUT/console.json and $BENCH_OUT/console.md. Everything it
# makes is named t-bench-console-PID* and removed on exit, even on Ctrl+C.
# Usage: BENCH_OUT=DIR [BENCH_QUICK=1] [PEER_REF=REV] bench/console.sh   (needs bin/stowage: make build)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:?set BENCH_OUT to the directory for the results}
mkdir -p "$OUT"
export GOFLAGS=-tags=pacific
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_need console
command -v tmux >/dev/null || { echo "bench/console.sh: tmux is missing (apt-get install tmux)" >&2; exit 2; }

N=10000
if [[ -n ${BENCH_QUICK:-} ]]; then
	COUNT=1 SCROLL=500x FILTER=4x MEM=5x FIRST=2x ROUNDS=1 DWELL=0
else
	COUNT=3 SCROLL=3000x FILTER=20x MEM=20x FIRST=5x ROUNDS=3 DWELL=11
fi

TAG=t-bench-console-$$
WORK=$(mktemp -d /var/tmp/$TAG.XXXXXX)
POOL=$TAG-pool
SESSIONS=()
cleanup() {
	set +e
	for s in "${SESSIONS[@]}"; do tmux kill-session -t "$s" >/dev/null 2>&1; done
	"${V[@]}" pool-destroy "$POOL" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# metric BENCH UNIT FILE: the value reported in UNIT by each run of BENCH.
metric() { awk -v b="$1" -v u="$2" '$1 ~ "^"b"(-[0-9]+)?$" { for (i = 3; i <= NF; i++) if ($i == u) print $(i-1) }' "$3"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "null"}'; }
json_list() { jq -s -c . ; }

echo "console: a dir pool of $N volumes" >&2
mkdir -p "$WORK/$POOL"
(cd "$WORK/$POOL" && seq -f 'v%05g.raw' 1 "$N" | xargs touch && seq -f 'v%05g.raw' 1 "$N" | xargs truncate -s 1M)
"${V[@]}" pool-create-as "$POOL" dir --target "$WORK/$POOL" >/dev/null
# Every volume on the host is in the console's memory, not only the pool's.
HOST_VOLUMES=0
for p in $("${V[@]}" pool-list | awk '{print $1}'); do
	HOST_VOLUMES=$((HOST_VOLUMES + $("${V[@]}" vol-list "$p" 2>/dev/null | grep -c . || true)))
done

echo "console: Go benchmarks (-count $COUNT)" >&2
# The pool above, for all its iterations: -count 1.
STOWAGE_BENCH_POOL=$POOL STOWAGE_LAB=require go test -run '^$' -bench '^BenchmarkFirstRows10k$' -benchtime "$FIRST" -count 1 ./cli/ | tee "$WORK/first.txt" >&2
go test -run '^$' -bench '^BenchmarkScroll10k$' -benchtime "$SCROLL" -count "$COUNT" ./ui/app/ | tee "$WORK/scroll.txt" >&2
go test -run '^$' -bench '^BenchmarkConsoleMemory10k$' -benchtime "$MEM" -count "$COUNT" ./ui/app/ | tee "$WORK/mem.txt" >&2
go test -run '^$' -bench '^BenchmarkFilter100000Rows$' -benchtime "$FILTER" -count "$COUNT" ./ui/table/ | tee "$WORK/filter.txt" >&2

# The peer: stowage before the memory cut, built from git.
PEER_REF=${PEER_REF:-}
if [[ -z $PEER_REF ]]; then
	cut=$(git log --format=%H --grep '^console memory:' | tail -n 1)
	PEER_REF=${cut:+$cut^}
	PEER_REF=${PEER_REF:-main}
fi
PEER_DESC="$(git rev-parse --short "$PEER_REF") ($PEER_REF)"
echo "console: building the peer from $PEER_DESC" >&2
mkdir -p "$WORK/peer-src"
git archive "$PEER_REF" | tar -x -C "$WORK/peer-src"
# -trimpath: the build cache then serves every package the cut did not
# touch, wherever the source was unpacked.
(cd "$WORK/peer-src" && go build -trimpath -o "$WORK/stowage-peer" .)


# until SESSION PATTERN SECONDS: wait until the screen shows PATTERN.
until_shown() {
	local deadline=$((SECONDS + $3))
	while ! tmux capture-pane -p -t "$1" | grep -q -- "$2"; do
		if ((SECONDS > deadline)); then
			echo "bench/console.sh: '$2' not on screen after $3 s; the screen:" >&2
			tmux capture-pane -p -t "$1" >&2
			return 1
		fi
		sleep 0.05
	done
}
hwm_mb() { awk '/^VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

# rss BIN NAME: one console on the pool; appends "rows_mb open_mb" to NAME.runs.
rss() {
	local s=$TAG-$2-$RANDOM pid rows open
	SESSIONS+=("$s")
	pid=$(tmux new -d -P -F '#{pane_pid}' -s "$s" -x 160 -y 45 "exec $1 --uri $URI")
	until_shown "$s" 'POOL' 60
	# The pane's shell has exec'd stowage by the time its screen shows.
	[[ $(cat "/proc/$pid/comm") == stowage* ]] || { echo "bench/console.sh: pane $pid is $(cat "/proc/$pid/comm"), not stowage" >&2; return 1; }
	tmux send-keys -t "$s" /
	tmux send-keys -t "$s" -l "$POOL"
	tmux send-keys -t "$s" Enter
	# The filter kept, and the pool's row listed under it (the header shows
	# before the host's pools arrive): enter then opens it.
	until_shown "$s" "filter: $POOL  1/" 60
	tmux send-keys -t "$s" Enter
	# The first volume's row with its size: every volume's XML was read.
	until_shown "$s" 'v00001\.raw .*MiB' 120
	rows=$(hwm_mb "$pid")
	open=$rows
	if ((DWELL > 0)); then
		sleep "$DWELL" # stays open through two polls (every 5 s): not a wait for the screen
		open=$(hwm_mb "$pid")
	fi
	tmux kill-session -t "$s"
	echo "$rows $open" >>"$WORK/$2.runs"
	echo "console: $2 peak RSS ${rows} MB when the rows show, ${open} MB after ${DWELL} s open" >&2
}

for r in $(seq 1 "$ROUNDS"); do
	rss "$BIN" new
	rss "$WORK/stowage-peer" peer
done

# Figures.
col() { awk -v c="$1" '{print $c}' "$2"; }
scroll_p50=$(metric BenchmarkScroll10k 'frame-p50-µs' "$WORK/scroll.txt" | median)
scroll_p99=$(metric BenchmarkScroll10k 'frame-p99-µs' "$WORK/scroll.txt" | median)
filter_p50=$(metric BenchmarkFilter100000Rows keystroke-p50-ms "$WORK/filter.txt" | median)
filter_p99=$(metric BenchmarkFilter100000Rows keystroke-p99-ms "$WORK/filter.txt" | median)
filter_first=$(metric BenchmarkFilter100000Rows first-keystroke-ms "$WORK/filter.txt" | median)
live=$(metric BenchmarkConsoleMemory10k live-MB "$WORK/mem.txt" | median)
poll_b=$(metric BenchmarkConsoleMemory10k B/op "$WORK/mem.txt" | median)
poll_allocs=$(metric BenchmarkConsoleMemory10k allocs/op "$WORK/mem.txt" | median)
first_p50=$(metric BenchmarkFirstRows10k p50-ms "$WORK/first.txt" | median)
first_worst=$(metric BenchmarkFirstRows10k worst-ms "$WORK/first.txt" | median)
new_rows=$(col 1 "$WORK/new.runs" | median) new_open=$(col 2 "$WORK/new.runs" | median)
peer_rows=$(col 1 "$WORK/peer.runs" | median) peer_open=$(col 2 "$WORK/peer.runs" | median)

jq -n \
	--argjson volumes "$N" --argjson host_volumes "$HOST_VOLUMES" --argjson rounds "$ROUNDS" --argjson count "$COUNT" --argjson dwell "$DWELL" \
	--arg peer "$PEER_DESC" \
	--argjson sp50 "$scroll_p50" --argjson sp99 "$scroll_p99" \
	--argjson sp50r "$(metric BenchmarkScroll10k 'frame-p50-µs' "$WORK/scroll.txt" | json_list)" \
	--argjson sp99r "$(metric BenchmarkScroll10k 'frame-p99-µs' "$WORK/scroll.txt" | json_list)" \
	--argjson fp50 "$filter_p50" --argjson fp99 "$filter_p99" --argjson ffirst "$filter_first" \
	--argjson fp50r "$(metric BenchmarkFilter100000Rows keystroke-p50-ms "$WORK/filter.txt" | json_list)" \
	--argjson fp99r "$(metric BenchmarkFilter100000Rows keystroke-p99-ms "$WORK/filter.txt" | json_list)" \
	--argjson live "$live" --argjson pollb "$poll_b" --argjson polla "$poll_allocs" \
	--argjson liver "$(metric BenchmarkConsoleMemory10k live-MB "$WORK/mem.txt" | json_list)" \
	--argjson first "$first_p50" --argjson firstw "$first_worst" \
	--argjson nrows "$new_rows" --argjson nopen "$new_open" --argjson prows "$peer_rows" --argjson popen "$peer_open" \
	--argjson nruns "$(awk '{print "[" $1 "," $2 "]"}' "$WORK/new.runs" | json_list)" \
	--argjson pruns "$(awk '{print "[" $1 "," $2 "]"}' "$WORK/peer.runs" | json_list)" \
	'{console: {
		volumes: $volumes, host_volumes: $host_volumes, go_bench_count: $count, rss_rounds: $rounds, rss_dwell_s: $dwell,
		scroll_frame_p50_us: $sp50, scroll_frame_p99_us: $sp99, scroll_frame_p50_us_runs: $sp50r, scroll_frame_p99_us_runs: $sp99r,
		filter_100k_keystroke_p50_ms: $fp50, filter_100k_keystroke_p99_ms: $fp99, filter_100k_first_keystroke_ms: $ffirst,
		filter_100k_keystroke_p50_ms_runs: $fp50r, filter_100k_keystroke_p99_ms_runs: $fp99r,
		first_rows_p50_ms: $first, first_rows_worst_ms: $firstw,
		live_heap_10k_mb: $live, live_heap_10k_mb_runs: $liver, poll_alloc_bytes: $pollb, poll_allocs: $polla,
		rss_peak_rows_mb: $nrows, rss_peak_open_mb: $nopen, rss_runs_rows_open_mb: $nruns,
		rss_peak_rows_mb_before: $prows, rss_peak_open_mb_before: $popen, rss_before_runs_rows_open_mb: $pruns,
		rss_before_ref: $peer, rss_target_mb: 60,
		rss_peak_after_over_before: (($nopen / $popen) * 1000 | round / 1000),
		rss_peak_over_target: (($nopen / 60) * 1000 | round / 1000)
	}}' >"$OUT/console.json"

{
	echo "## 2. The console"
	echo
	echo "How measured: \`BENCH_OUT=DIR$([[ -n ${BENCH_QUICK:-} ]] && echo ' BENCH_QUICK=1') bench/console.sh\`. Go benchmarks, medians of $COUNT runs:"
	echo "\`go test -run '^\$' -bench 'Scroll10k|ConsoleMemory10k' -count $COUNT ./ui/app/\` drives the real root model on a host of"
	echo "10,000 volumes (a fake backend sends what libvirtx sends): the down key's binding pressed, then \`View()\` timed ($SCROLL frames);"
	echo "then one poll of the unchanged host applied and redrawn. \`go test -run '^\$' -bench Filter100000Rows ./ui/table/\` types"
	echo "\`v9q2\` in the filter line of 100,000 rows, each keystroke answered by the filtered view (rows set afresh before each round,"
	echo "so the first keystroke pays for the text the filter searches). \`STOWAGE_LAB=require go test -run '^\$' -bench FirstRows10k ./cli/\`"
	echo "times a finished dial to the first rows of a 10,000-volume pool on the lab's libvirtd."
	echo "Peak RSS: bin/stowage in a detached 160x45 tmux session on the lab host ($URI, $HOST_VOLUMES volumes in all, a dir pool of $N among them); keys open"
	echo "the pool, the script waits until the first row shows its size, and reads VmHWM from /proc/PID/status$( ((DWELL > 0)) && echo ", then again after $DWELL s open (two polls)")."
	echo "The peer is stowage before the memory cut (git $PEER_DESC), built in the same run and measured in turn in each of $ROUNDS round(s)."
	echo
	echo "| figure | median |"
	echo "|---|---|"
	echo "| frame while scrolling 10,000 rows, p50 / p99 | $scroll_p50 µs / $scroll_p99 µs |"
	echo "| filter keystroke over 100,000 rows, p50 / p99 (first keystroke) | $filter_p50 ms / $filter_p99 ms ($filter_first ms) |"
	echo "| first rows of a 10,000-volume pool after the dial (worst) | $first_p50 ms ($first_worst ms) |"
	echo "| heap kept with 10,000 volumes open | $live MB |"
	echo "| one poll of an unchanged 10,000-volume host | $poll_b B in $poll_allocs allocations |"
	echo
	echo "| peak RSS, $N volumes open | when the rows show | after ${DWELL} s open | target |"
	echo "|---|---|---|---|"
	echo "| before the cut ($PEER_DESC) | $peer_rows MB | $peer_open MB | 60 MB |"
	echo "| now | $new_rows MB | $new_open MB | 60 MB |"
	echo
	echo "Reading it: about 28 MB of the RSS is the binary and the shared libraries it maps (Ceph's among them), the same for"
	echo "both; the rest is Go's heap. The cut redraws nothing for a poll that changes nothing (the peer rebuilt all 10,000 rows"
	echo "for each of a poll's parts, about 80 MB allocated per poll), keeps less per row, and collects at GOGC=50 instead of"
	echo "100 (the heap grows to 1.5 times what is live, not twice; README, \"Memory\"), so the peak no longer climbs with every"
	echo "poll. Every volume of the host is held, not only the open pool's: other pools on the lab host raise both figures alike."
	echo "Frames cost what a screenful costs: the table renders only the visible rows; p99 frames include garbage collections."
	[[ -n ${BENCH_QUICK:-} ]] && echo "Quick run: one round, no dwell, $COUNT run of each benchmark: indicative only."
} >"$OUT/console.md"
echo "console: wrote $OUT/console.json and $OUT/console.md" >&2
