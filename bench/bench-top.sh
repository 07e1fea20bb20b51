#!/bin/sh
# What `swarm top` costs watching a big swarm: 200 simulated peers on
# loopback (bench/top-peers.py), top refreshing every second, on the board
# in a tmux pane of 100x30 and in --json batch mode; its CPU time from
# /proc/PID/stat over BENCH_SECONDS (default 30), as a share of one core.
#
#   sh bench/bench-top.sh [PEERS]
SWARM=${SWARM_BIN:-$PWD/swarm}
PEERS=${1:-200}
SECONDS_=${BENCH_SECONDS:-30}
tmp=$(mktemp -d)
sock=bench-top-$$
pids=""
cleanup() {
	tmux -L "$sock" kill-server 2>/dev/null
	for p in $pids; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

python3 bench/top-peers.py "$PEERS" "$tmp/peers" &
pids="$pids $!"
i=0
while [ ! -s "$tmp/peers" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
args=$(sed 's/^/--peer /' "$tmp/peers" | tr '\n' ' ')

# ticks PID: utime + stime, in clock ticks (fields 14 and 15).
ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
# measure NAME PID: the share of a core PID used over SECONDS_.
measure() {
	sleep 3		# past the first connects
	t0=$(ticks "$2")
	sleep "$SECONDS_"
	t1=$(ticks "$2")
	hz=$(getconf CLK_TCK)
	echo "$1: $PEERS peers, ${SECONDS_} s: $((t1 - t0)) ticks of 1/$hz s" \
	    "= $(awk -v d=$((t1 - t0)) -v hz="$hz" -v s="$SECONDS_" \
	    'BEGIN { printf "%.2f", 100 * d / hz / s }') % of one core"
}

tmux -L "$sock" -f /dev/null new-session -d -x 100 -y 30 \
    "sh -c 'echo \$\$ >$tmp/top.pid; exec $SWARM top -d 1 $args'"
i=0
while [ ! -s "$tmp/top.pid" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
sleep 1
tmux -L "$sock" capture-pane -p | head -8
measure "board" "$(cat "$tmp/top.pid")"
tmux -L "$sock" kill-server

"$SWARM" top --json -d 1 $args >"$tmp/json" &
jp=$!
pids="$pids $jp"
measure "json" "$jp"
echo "json: $(wc -l <"$tmp/json") documents, $(tail -1 "$tmp/json" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["peers_online"], "peers online")')"
grep -m1 'model name' /proc/cpuinfo | sed 's/^.*: /cpu: /'
