#!/bin/sh
# What the ledger costs: swarm decode through three nodes with accounting
# on (the client signs a receipt per step and hop, the nodes verify and
# keep them) against the same with ledger.enabled false, side by side,
# runs alternating. Then bench-receipt's signatures and verifications per
# second and the bytes a receipt adds to a step request. Not part of
# `make test`.
#
#   sh bench/bench-ledger.sh [MODEL.gguf]
#
# Without MODEL, the 1.1B shape in Q4_0 from bench/gen-model. BENCH_THREADS
# (default 1 per node), BENCH_TOKENS (default 64) and BENCH_REPS (default
# 3) can be set; BENCH_TINY=1 (the default) adds the same on the tiny model,
# where compute is small and any overhead shows.
THREADS=${BENCH_THREADS:-1}
BENCH_NAME=bench-ledger
. "$(dirname "$0")/lib.sh"

gen_tps() {
	sed -n 's/^generation: .*, \([0-9.]*\) tokens\/s$/\1/p' "$1"
}

# start_three on|off: three nodes over the model, accounting on or off;
# their --peer options in $peers_on or $peers_off.
start_three() {
	en=$([ "$1" = on ] && echo true || echo false)
	p=
	i=0
	for span in 0:$b1 $b1:$b2 $b2:$n_layer; do
		i=$((i + 1))
		SWARM_LEDGER_ENABLED=$en SWARM_LEDGER_PATH="$tmp/node-$1-$i.db" \
		    "$SWARM" node join -m "$M" --blocks "$span" \
		    --listen 127.0.0.1:0 --port-file "$tmp/p-$1-$i" \
		    -t "$THREADS" 2>"$tmp/node-$1-$i.log" &
		pids="$pids $!"
		n=0
		while [ ! -s "$tmp/p-$1-$i" ]; do
			n=$((n + 1))
			[ $n -gt 1200 ] && { cat "$tmp/node-$1-$i.log" >&2; exit 1; }
			sleep 0.05
		done
		p="$p --peer 127.0.0.1:$(cat "$tmp/p-$1-$i")"
	done
	eval "peers_$1=\"\$p\""
}

echo "model: $M ($n_layer blocks), $THREADS threads a node, $TOKENS tokens, best of $REPS"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores"
start_three on
start_three off
for r in $(seq "$REPS"); do
	for mode in off on; do
		en=$([ "$mode" = on ] && echo true || echo false)
		eval "peers=\$peers_$mode"
		SWARM_LEDGER_ENABLED=$en "$SWARM" infer run -m "$M" $peers \
		    -t "$THREADS" -n "$TOKENS" --temp 0 --ignore-eos -v \
		    "Once upon a time" >/dev/null 2>"$tmp/$mode.err" || {
			cat "$tmp/$mode.err" >&2
			exit 1
		}
		gen_tps "$tmp/$mode.err" >>"$tmp/$mode.all"
	done
	echo "run $r: ledger off $(tail -1 "$tmp/off.all"), on $(tail -1 "$tmp/on.all") tokens/s"
done
off=$(sort -g "$tmp/off.all" | tail -1)
on=$(sort -g "$tmp/on.all" | tail -1)
# the median too: on a shared machine the best of a few runs is noisy
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
off_med=$(median <"$tmp/off.all")
on_med=$(median <"$tmp/on.all")
kept=$(SWARM_HOME=$tmp "$SWARM" ledger receipts --json --db "$tmp/node-on-1.db" |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
awk -v a="$off" -v b="$on" -v c="$off_med" -v d="$on_med" -v k="$kept" 'BEGIN {
	printf "ledger off: best %.2f, median %.2f tokens/s\n", a, c
	printf "ledger on:  best %.2f, median %.2f tokens/s\n", b, d
	printf "ratio: best %.3f, median %.3f (goal >= 0.98); first node kept %d receipts\n",
	    b / a, d / c, k
}'
if [ -x "$BUILD/bench/bench-receipt" ]; then
	"$BUILD/bench/bench-receipt" 20000
fi

tiny=${BENCH_TINY_MODEL:-../shared/models/stories260K.gguf}
if [ "${BENCH_TINY:-1}" = 1 ] && [ -f "$tiny" ]; then
	echo
	BENCH_TINY=0 BENCH_TOKENS=500 sh "$0" "$tiny"
fi
