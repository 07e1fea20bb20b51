# What the swarm benchmarks share: the binary, the model (MODEL, else the
# 1.1B shape in Q4_0 from bench/gen-model), a private SWARM_HOME that is
# removed at the end with every process in $pids, and the block count.
# Source it with BENCH_NAME set; $1 is the model, if given.
SWARM=${SWARM_BIN:-$PWD/swarm}
BUILD=${BUILD:-build}
TOKENS=${BENCH_TOKENS:-64}
REPS=${BENCH_REPS:-3}
M=${1:-$BENCH_MODEL}

if [ -z "$M" ]; then
	if [ -x "$BUILD/bench/gen-model" ]; then
		M=$("$BUILD/bench/gen-model" --shape tinyllama --type Q4_0) || exit 1
	else
		echo "$BENCH_NAME: no model (give one, or build bench/gen-model)"
		exit 0
	fi
fi

# free_port: a TCP port free on 127.0.0.1 now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

tmp=$(mktemp -d)
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
export SWARM_HOME=$tmp

n_layer=$("$SWARM" shard info "$M" | awk '$1 == "blocks" { print $2; exit }')
[ -n "$n_layer" ] || { echo "$BENCH_NAME: cannot read the block count" >&2; exit 1; }
b1=$((n_layer / 3))
b2=$((2 * n_layer / 3))
