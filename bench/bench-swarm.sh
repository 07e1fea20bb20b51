#!/bin/sh
# The swarm's overhead on loopback: a TinyLlama-1.1B-shaped model split over
# three nodes on this machine against the same model run with --local, the
# same thread count for the compute in both, the swarm as the client
# chooses by default (auto) and with push on and off.
# Local and swarm runs alternate (a load change on the machine hits every
# one); prints the median generation tokens/s of each, their ratio to local,
# each hop's time in the median run, the latency the swarm adds per hop, and
# the load average before and after. Not part of `make test`.
#
#   sh bench/bench-swarm.sh [MODEL.gguf]
#
# Without MODEL it asks bench/gen-model (make bench) for the 1.1B shape in
# Q4_0; without either it says so and exits 0. BENCH_THREADS (default 2),
# BENCH_TOKENS (default 64), BENCH_REPS (default 3), BENCH_SETTLE and
# BENCH_GAP can be set; BENCH_FLOOR=0 skips the floor (bench/hop-floor).
THREADS=${BENCH_THREADS:-2}
BENCH_NAME=bench-swarm
. "$(dirname "$0")/lib.sh"

# gen_tps FILE: tokens/s from the "generation:" line of -v
gen_tps() {
	sed -n 's/^generation: .*, \([0-9.]*\) tokens\/s$/\1/p' "$1"
}

# median: of the numbers on stdin (the lower middle one of an even count)
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# node_stats: "compute_seconds steps" of each node, one line per node
node_stats() {
	for p in $ports; do
		"$SWARM" node status --json 127.0.0.1:$p | python3 -c '
import json, sys
s = json.load(sys.stdin)["status"]
print(s["compute_seconds"], s["steps"])'
	done
}

echo "model: $M ($n_layer blocks), $THREADS threads, $TOKENS tokens, median of $REPS"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

i=0
for span in 0:$b1 $b1:$b2 $b2:$n_layer; do
	i=$((i + 1))
	"$SWARM" node join -m "$M" --blocks "$span" --listen 127.0.0.1:0 \
	    --port-file "$tmp/p$i" -t "$THREADS" 2>"$tmp/node$i.log" &
	pids="$pids $!"
done
for i in 1 2 3; do
	n=0
	while [ ! -s "$tmp/p$i" ]; do
		n=$((n + 1))
		if [ $n -gt 1200 ]; then
			echo "bench-swarm: node $i did not start" >&2
			cat "$tmp/node$i.log" >&2
			exit 1
		fi
		sleep 0.05
	done
done
peers="--peer 127.0.0.1:$(cat "$tmp/p1") --peer 127.0.0.1:$(cat "$tmp/p2")"
peers="$peers --peer 127.0.0.1:$(cat "$tmp/p3")"
ports="$(cat "$tmp/p1") $(cat "$tmp/p2") $(cat "$tmp/p3")"

# A node measured in its first seconds runs slower than it will (on this
# kind of virtual machine a 1.1B node ran 40-44 tokens/s fresh and 45-52
# forty seconds later, local runs 44-53 beside both): one short run through
# the swarm, then BENCH_SETTLE seconds (default 30) before the first
# measured one.
"$SWARM" infer run -m "$M" $peers -t "$THREADS" -n 8 --temp 0 --ignore-eos \
    "Once upon a time" >/dev/null 2>&1
sleep "${BENCH_SETTLE:-30}"

# Local and swarm runs alternate, so that a load change on the machine hits
# every one; the idle nodes stay up during the local runs (their workers
# sleep). The swarm runs three times a round: as configured by default
# (auto: the client times both ways on the chain and keeps the faster),
# with push (each node forwards to the next, hops + 1 one-way trips a
# token) and without (the client sends every step to every hop, 2 x
# hops). The order of the four changes each round, and each run
# starts BENCH_GAP seconds (default 3) after the last one ended: a process
# that exits leaves work behind it (on a virtual machine its freed memory
# goes back to the host in the next seconds), and the run right after one
# paid for it every time (with push always after local, push measured 0.75
# of local where it measured as fast as no-push in any other order).
run_local() {
	"$SWARM" infer run --local -m "$M" -t "$THREADS" -n "$TOKENS" --temp 0 \
	    --ignore-eos -v "Once upon a time" >/dev/null 2>"$tmp/local.err" || {
		cat "$tmp/local.err" >&2
		exit 1
	}
	gen_tps "$tmp/local.err" >>"$tmp/local.all"
}
run_swarm() {
	node_stats >"$tmp/before-$1$r"
	flag=--$1
	[ "$1" = auto ] && flag=
	"$SWARM" infer run -m "$M" $peers -t "$THREADS" -n "$TOKENS" \
	    --temp 0 --ignore-eos -v $flag "Once upon a time" \
	    >/dev/null 2>"$tmp/$1$r.err" || {
		cat "$tmp/$1$r.err" >&2
		exit 1
	}
	node_stats >"$tmp/after-$1$r"
	echo "$(gen_tps "$tmp/$1$r.err") $r" >>"$tmp/$1.all"
}
for r in $(seq "$REPS"); do
	# A balanced square: over four rounds each way runs once in each
	# place and right after each other way once (a plain rotation put
	# auto after local three times in four, no-push after push).
	case $((r % 4)) in
	1) order="local auto no-push push" ;;
	2) order="auto push local no-push" ;;
	3) order="push no-push auto local" ;;
	0) order="no-push local push auto" ;;
	esac
	for mode in $order; do
		sleep "${BENCH_GAP:-3}"
		if [ "$mode" = local ]; then
			run_local
		else
			run_swarm "$mode"
		fi
	done
	echo "run $r ($order): local $(tail -1 "$tmp/local.all"), auto" \
	    "$(tail -1 "$tmp/auto.all" | cut -d' ' -f1), push" \
	    "$(tail -1 "$tmp/push.all" | cut -d' ' -f1), no-push" \
	    "$(tail -1 "$tmp/no-push.all" | cut -d' ' -f1) tokens/s" \
	    "(load $(cut -d' ' -f1 /proc/loadavg))"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
local_tps=$(median <"$tmp/local.all")
echo "local: $local_tps tokens/s (median)"
for mode in auto push no-push; do
	# the median run, and its number for the hop lines below
	sort -g "$tmp/$mode.all" |
	    awk '{ v[NR] = $0 } END { print v[int((NR + 1) / 2)] }' \
	    >"$tmp/$mode.median"
	read -r swarm_tps r <"$tmp/$mode.median"
	# each run's swarm against the local run of the same round
	pair_ratio=$(paste "$tmp/local.all" "$tmp/$mode.all" |
	    awk '{ printf "%.4f\n", ($1 > 0 ? $2 / $1 : 0) }' | median)
	# Each hop's time against the time its node spent computing: what
	# remains is the transport (HTTP, copies, scheduling) added per hop;
	# with push a hop's time runs from the step's start.
	paste "$tmp/before-$mode$r" "$tmp/after-$mode$r" | awk '{
		printf "%.3f\n", ($4 > $2 ? 1e3 * ($3 - $1) / ($4 - $2) : 0) }' \
	    >"$tmp/compute"
	echo "$mode:"
	grep '^push: auto' "$tmp/$mode$r.err" | sed 's/^/  /'
	grep '^hop ' "$tmp/$mode$r.err" | tr ',' ' ' | paste - "$tmp/compute" |
	    awk '{ printf "  hop %s %s blocks %s %.3f ms per step: compute " \
		"%.3f ms\n", $2, $3, $5, $8, $NF }'
	awk -v l="$local_tps" -v s="$swarm_tps" -v p="$pair_ratio" -v h=3 \
	    -v m="$mode" 'BEGIN {
		printf "  swarm %s: %.2f tokens/s over %d hops (median)\n", m, s, h
		printf "  ratio: %.3f (goal >= 0.95); median of the runs\047 " \
		    "ratios %.3f\n", s / l, p
		printf "  added latency per hop (from tokens/s): %.3f ms " \
		    "(goal < 0.3)\n", (1000 / s - 1000 / l) / h
	}'
done

# What no transport can go under here: the same chain over plain TCP, each
# step a pass over a third of the model's bytes (bench/hop-floor.c).
if [ "${BENCH_FLOOR:-1}" = 1 ] && [ -x "$BUILD/bench/hop-floor" ]; then
	size=$(($(wc -c <"$M") / 1048576))
	"$BUILD/bench/hop-floor" -t "$THREADS" -s $((size / 3 + 1)) -r 3 |
	    tail -1 | sed 's/^/the /'
fi

# The same on the tiny model, where compute is small and the transport shows.
tiny=${BENCH_TINY_MODEL:-../shared/models/stories260K.gguf}
if [ "${BENCH_TINY:-1}" = 1 ] && [ -f "$tiny" ]; then
	echo
	BENCH_TINY=0 BENCH_FLOOR=0 BENCH_TOKENS=500 BENCH_THREADS=1 \
	    BENCH_SETTLE=5 sh "$0" "$tiny"
fi
