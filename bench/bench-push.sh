#!/bin/sh
# Push against the client driving every hop, over links with a one-way
# delay: three nodes on this machine, each behind bench/delay-relay on
# loopback, which holds every chunk DELAY ms in each direction (the nodes
# announce the relays' addresses, so node-to-node forwards cross them
# too). Prints ms per generated token with push on and off, and as the
# client chooses by default (auto: it times both on its first steps),
# interleaved, and what the trips alone would cost: (hops + 1) x DELAY with
# push, 2 x hops x DELAY without.
# Needs no root: bench/bench-wan.sh is the same in network namespaces with
# bandwidth limits. Not part of `make test`.
#
#   sh bench/bench-push.sh [MODEL.gguf]
#
# BENCH_DELAYS (ms, default "0 5 20"), BENCH_TOKENS (default 32),
# BENCH_REPS (default 2) and BENCH_THREADS (default 1) can be set.
THREADS=${BENCH_THREADS:-1}
BENCH_NAME=bench-push
. "$(dirname "$0")/lib.sh"
DELAYS=${BENCH_DELAYS:-0 5 20}
[ "$TOKENS" = 64 ] && [ -z "$BENCH_TOKENS" ] && TOKENS=32
[ "$REPS" = 3 ] && [ -z "$BENCH_REPS" ] && REPS=2

RELAY=$BUILD/bench/delay-relay
[ -x "$RELAY" ] || { echo "$BENCH_NAME: no $RELAY (make $RELAY)"; exit 0; }

# wait_port FILE
wait_port() {
	n=0
	while [ ! -s "$1" ]; do
		n=$((n + 1))
		[ $n -gt 1200 ] && { echo "$BENCH_NAME: $1 not written" >&2; exit 1; }
		sleep 0.05
	done
}

echo "model: $M ($n_layer blocks), $THREADS threads a node, $TOKENS tokens, best of $REPS"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores"
for d in $DELAYS; do
	i=0 peers= dpids=
	for span in 0:$b1 $b1:$b2 $b2:$n_layer; do
		i=$((i + 1))
		# the node announces its relay's port; the relay delays both ways
		port=$(free_port)
		"$SWARM" node join -m "$M" --blocks "$span" --listen 127.0.0.1:0 \
		    --public-addr 127.0.0.1:$port --port-file "$tmp/n$d$i" \
		    -t "$THREADS" 2>"$tmp/node$d$i.log" &
		dpids="$dpids $!"
		wait_port "$tmp/n$d$i"
		"$RELAY" --listen 127.0.0.1:$port --to 127.0.0.1:$(cat "$tmp/n$d$i") \
		    --delay-ms "$d" --port-file "$tmp/x$d$i" 2>"$tmp/relay$d$i.log" &
		dpids="$dpids $!"
		wait_port "$tmp/x$d$i"
		peers="$peers --peer 127.0.0.1:$port"
	done
	pids="$pids $dpids"
	for r in $(seq "$REPS"); do
		for mode in auto push no-push; do
			flag=--$mode
			[ $mode = auto ] && flag=
			"$SWARM" infer run -m "$M" $peers -t "$THREADS" \
			    -n "$TOKENS" --temp 0 --ignore-eos -v $flag \
			    "Once upon a time" >"$tmp/out-$mode" \
			    2>"$tmp/err-$mode" || {
				cat "$tmp/err-$mode" >&2
				exit 1
			}
			sed -n 's/^generation: \([0-9]*\) tokens in \([0-9.]*\) s.*/\1 \2/p' \
			    "$tmp/err-$mode" | awk '{ printf "%.2f\n",
				1e3 * $2 / ($1 > 1 ? $1 - 1 : 1) }' \
			    >>"$tmp/ms-$d-$mode"
		done
		cmp -s "$tmp/out-push" "$tmp/out-no-push" ||
		    echo "delay $d ms: push and no-push texts differ" >&2
	done
	push=$(sort -g "$tmp/ms-$d-push" | head -1)
	nopush=$(sort -g "$tmp/ms-$d-no-push" | head -1)
	auto=$(sort -g "$tmp/ms-$d-auto" | head -1)
	awk -v d="$d" -v p="$push" -v n="$nopush" -v a="$auto" -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
		printf "delay %2d ms: push %.1f ms/token (trips %d), no-push %.1f ms/token (trips %d), saved %.1f ms; auto %.1f ms/token (load %s)\n",
		    d, p, 4 * d, n, 6 * d, n - p, a, l }'
	sed -n 's/^push: auto, \([a-z]*\) (\([^)]*\)), .*/  auto, last run: push \1 (\2)/p' \
	    "$tmp/err-auto"
	for p in $dpids; do kill "$p" 2>/dev/null; done
	for p in $dpids; do wait "$p" 2>/dev/null; done
done
