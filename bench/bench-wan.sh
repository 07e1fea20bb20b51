#!/bin/sh
# The swarm over a slow network: a client and three nodes (a third of the
# blocks each) in their own network namespaces (tests/cli/netlab.sh, root
# only), every link with a one-way delay of 5, 20 and 50 ms. Prints ms per
# generated token next to what the route should cost:
#
#	client-driven (each hop a round trip from the client):
#	    2 x hops x delay + compute
#	pushed (each node sends its output on to the next, --push):
#	    (hops + 1) x delay + compute, + 10 %
#
# with compute the model's ms per token run here with --local on one
# thread. When `swarm infer run` has --push/--no-push both are measured
# side by side (interleaved); otherwise the client-driven mode only, and the
# table says so. Not part of `make test`.
#
#   sh bench/bench-wan.sh [MODEL.gguf]
#
# Without MODEL, bench/gen-model makes a small one (6 blocks, width 768,
# Q8_0). BENCH_DELAYS (default "5 20 50"), BENCH_TOKENS (default 32) and
# BENCH_REPS (default 2, the best counts) can be set.
SWARM=${SWARM_BIN:-$PWD/swarm}
BUILD=${BUILD:-build}
DELAYS=${BENCH_DELAYS:-5 20 50}
TOKENS=${BENCH_TOKENS:-32}
REPS=${BENCH_REPS:-2}
M=${1:-$BENCH_MODEL}
HOPS=3

. "$(dirname "$0")/../tests/cli/netlab.sh"
if ! netlab_usable; then
	echo "bench-wan: no network lab here ($netlab_why)"
	exit 0
fi
if [ -z "$M" ]; then
	M=$("$BUILD/bench/gen-model" -q --type Q8_0 --blocks 6 --embd 768 \
	    --ffn 2048 --heads 12 --vocab 4096 --ctx 512) || exit 1
fi
SWARM_HOME=$(mktemp -d)
export SWARM_HOME
pids=
bench_cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	netlab_cleanup
	rm -rf "$SWARM_HOME"
}
netlab_init || exit 1
trap bench_cleanup EXIT

n_layer=$("$SWARM" shard info "$M" | awk '$1 == "blocks" { print $2; exit }')
b1=$((n_layer / 3))
b2=$((2 * n_layer / 3))

if "$SWARM" infer run -h 2>&1 | grep -q -- "--push"; then
	MODES="--no-push --push"
else
	MODES="client"
fi

netlab_add c
i=0
for span in 0:$b1 $b1:$b2 $b2:$n_layer; do
	i=$((i + 1))
	netlab_add n$i
	ip netns exec "$(netlab_ns n$i)" "$SWARM" node join -m "$M" \
	    --blocks "$span" --listen 127.0.0.1:7000 --threads 1 \
	    --port-file "$SWARM_HOME/n$i.port" 2>"$SWARM_HOME/n$i.log" &
	pids="$pids $!"
done
for i in 1 2 3; do
	j=0
	while [ ! -s "$SWARM_HOME/n$i.port" ]; do
		j=$((j + 1))
		[ $j -gt 600 ] && { cat "$SWARM_HOME/n$i.log"; exit 1; }
		sleep 0.05
	done
done

# tps FILE: tokens/s from the "generation:" line
tps() {
	sed -n 's/^generation: .*, \([0-9.]*\) tokens\/s$/\1/p' "$1"
}

# ms_per_token ARGS...: the best of REPS runs, ms per generated token
ms_per_token() {
	best=
	r=0
	while [ $r -lt "$REPS" ]; do
		r=$((r + 1))
		"$@" >/dev/null 2>"$SWARM_HOME/run.err" || {
			sed 's/^/  /' "$SWARM_HOME/run.err" >&2
			echo "-"
			return
		}
		t=$(tps "$SWARM_HOME/run.err")
		best=$(printf '%s\n%s\n' "$best" "$t" | sort -g | tail -1)
	done
	python3 -c 'import sys; print("%.1f" % (1000 / float(sys.argv[1])))' "$best"
}

compute=$(ms_per_token "$SWARM" infer run --local -m "$M" -n "$TOKENS" \
    --temp 0 --ignore-eos --threads 1 -v "Once upon a time")
echo "model: $M ($n_layer blocks over $HOPS nodes), $TOKENS tokens, best of $REPS"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores"
echo "compute (--local, 1 thread): $compute ms per token"
[ "$MODES" = client ] &&
    echo "infer run has no --push here: the client-driven mode only"
printf '%-8s %-10s %12s %14s %14s  %s\n' delay mode "ms/token" \
    "bound" "bound formula" "load average"
for d in $DELAYS; do
	for r in $netlab_relays; do netlab_unexpose "$r"; done
	netlab_relays=
	peers=
	for i in 1 2 3; do
		netlab_expose n$i "$(cat "$SWARM_HOME/n$i.port")" "$d" || exit 1
		peers="$peers --peer $netlab_public"
	done
	for mode in $MODES; do
		flag=$mode
		[ "$mode" = client ] && flag=
		ms=$(ms_per_token ip netns exec "$(netlab_ns c)" "$SWARM" \
		    infer run -m "$M" $peers -n "$TOKENS" --temp 0 \
		    --ignore-eos -v $flag "Once upon a time")
		case $mode in
		--push)
			bound=$(python3 -c 'import sys; h, d, c = map(float,
sys.argv[1:]); print("%.1f" % (((h + 1) * d + c) * 1.1))' $HOPS "$d" \
			    "$compute")
			formula="(h+1)d+c+10%" ;;
		*)
			bound=$(python3 -c 'import sys; h, d, c = map(float,
sys.argv[1:]); print("%.1f" % (2 * h * d + c))' $HOPS "$d" "$compute")
			formula="2hd+c" ;;
		esac
		printf '%-8s %-10s %12s %14s %14s  %s\n' "$d ms" \
		    "${mode#--}" "$ms" "$bound" "$formula" \
		    "$(uptime | sed 's/.*load average: //')"
	done
done
