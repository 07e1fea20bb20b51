# Discovery through the DHT, all on 127.0.0.1: three nodes serve
# stories260K as [0,2) [2,5) and a replica of [0,2); the later ones
# bootstrap off the first. `models status` (through any node) shows
# complete coverage and the replica counts; a client that knows one node
# finds the others and prints the golden text; the [0,2) node in use is
# killed with kill -9 in the middle of a run, which still prints the golden
# text and leaves `models status` within the staleness window (nodes
# announce every 2 s here, so a record is stale after 6 s); a span whose
# last node drains shows as a gap, which a node joining with --blocks auto
# fills.
. tests/cli/lib.sh
M=$MODELS/stories260K.gguf
G=$MODELS/golden/stories260K_run_t0_n200.expected.txt
export SWARM_ANNOUNCE_INTERVAL=2
# Slow steps a little, so that a run lasts long enough to kill a node in it.
export SWARM_TEST_STEP_DELAY_MS=3

# start_node NAME ARGS...: a node with its own data directory (its own
# key), listening on a free port; $port gets the port.
start_node() {
	name=$1
	shift
	mkdir -p "$SWARM_HOME/$name"
	SWARM_HOME=$SWARM_HOME/$name "$SWARM" node join -m "$M" \
	    --listen 127.0.0.1:0 --port-file "$SWARM_HOME/$name.port" "$@" \
	    2>"$SWARM_HOME/$name.log" &
	track $!
	eval "pid_$name=$!"
	i=0
	while [ ! -s "$SWARM_HOME/$name.port" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	port=$(cat "$SWARM_HOME/$name.port" 2>/dev/null)
}

# Runs python3 on the JSON in $out; the script's exit status is the check.
json_check() {
	printf '%s\n' "$out" | python3 -c "import json, sys
d = json.load(sys.stdin)
$1"
}

# poll_status NAME SECONDS PYTHON: runs models status --json until the
# check holds or time runs out, then reports.
poll_status() {
	name=$1
	secs=$2
	i=0
	while [ $i -lt $((secs * 5)) ]; do
		out=$("$SWARM" models status --json --bootstrap "127.0.0.1:$bs" \
		    "$M" 2>"$SWARM_HOME/.err")
		if json_check "$3" 2>/dev/null; then
			pass "$name"
			return 0
		fi
		sleep 0.2
		i=$((i + 1))
	done
	fail "$name" "last status: $out $(cat "$SWARM_HOME/.err")"
	return 1
}

start_node n1 --blocks 0:2 --new-swarm
p1=$port
check n1-started [ -n "$p1" ]
check n1-new-swarm grep -q "others join with --bootstrap 127.0.0.1:$p1" \
    "$SWARM_HOME/n1.log"
start_node n2 --blocks 2:5 --bootstrap "127.0.0.1:$p1"
p2=$port
start_node n3 --blocks 0:2 --bootstrap "127.0.0.1:$p1"
p3=$port
check nodes-started test -n "$p2" -a -n "$p3" -a "$p2" != "$p3"
bs=$p2		# the node models status bootstraps from

poll_status complete 10 "
m = d['models'][0]
assert m['complete'] and m['n_block'] == 5, m
assert m['replicas'] == [2, 2, 1, 1, 1], m['replicas']
assert m['gaps'] == []
assert sorted(p['addr'] for p in m['peers']) == sorted(
    ['127.0.0.1:$p1', '127.0.0.1:$p2', '127.0.0.1:$p3'])
assert all(p['state'] == 'online' and p['throughput'] > 0
    for p in m['peers'])
assert len(set(p['peer_id'] for p in m['peers'])) == 3"

# A client that knows only one node finds the others.
expect infer-dht 0 "$SWARM" infer run -m "$M" --bootstrap "127.0.0.1:$p3" \
    -n 200 --temp 0
check infer-dht-golden [ "$out" = "$(cat "$G")" ]
expect infer-no-swarm 2 "$SWARM" infer run -m "$M" -n 5
expect infer-both 2 "$SWARM" infer run -m "$M" --peer "127.0.0.1:$p1" \
    --bootstrap "127.0.0.1:$p1" -n 5

# A client that knows only the last node finds them all.
expect via-n3 0 "$SWARM" models status --bootstrap "127.0.0.1:$p3"
check via-n3-complete sh -c 'printf "%s\n" "$1" | grep -q "blocks 5, complete"' _ "$out"
check via-n3-replicas sh -c 'printf "%s\n" "$1" | grep -q "blocks 0:2 have 2 peers"' _ "$out"
check via-n3-peers [ "$(printf '%s\n' "$out" | grep -c '127\.0\.0\.1:')" -eq 3 ]

# Without an argument every model is listed; the id matches the file's,
# and commits to its bytes (32 hex digits: see swarm-protocol(7)).
expect list 0 "$SWARM" models status --json --bootstrap "127.0.0.1:$p2"
check list-one-model json_check "
import re
assert len(d['models']) == 1 and d['network'] == 'public'
assert re.fullmatch(r'llama-f32-[0-9a-f]{32}', d['models'][0]['model_id'])"
id=$(printf '%s\n' "$out" | python3 -c "import json, sys
print(json.load(sys.stdin)['models'][0]['model_id'])")
mkdir -p "$SWARM_HOME/idh"
check id-is-files [ "$id" = "$(SWARM_HOME=$SWARM_HOME/idh "$SWARM" shard add \
    "$MODELS/stories260K.gguf")" ]
expect by-id 0 "$SWARM" models status --json --bootstrap "127.0.0.1:$p2" "$id"
check by-id-complete json_check "assert d['models'][0]['complete']"

# The bootstrap list can come from the config.
expect config-set 0 "$SWARM" config set swarm.bootstrap "127.0.0.1:$p2"
expect via-config 0 "$SWARM" models status --json "$id"
check via-config-complete json_check "assert d['models'][0]['complete']"
expect config-unset 0 "$SWARM" config unset swarm.bootstrap

# Another network sees nothing of this one.
expect other-network 1 "$SWARM" models status --network elsewhere \
    --bootstrap "127.0.0.1:$p1"
check other-network-msg sh -c 'printf "%s\n" "$1" | grep -q "does not answer"' _ "$err"
expect no-bootstrap 2 "$SWARM" models status
expect bad-arg 1 "$SWARM" models status --bootstrap "127.0.0.1:$p1" nosuch.gguf

# kill -9 the [0,2) node in use mid-run: the run fails over to the
# replica, and the dead node is gone within the staleness window (6 s, plus
# slack).
"$SWARM" infer run -m "$M" --bootstrap "127.0.0.1:$p2" -n 200 --temp 0 -v \
    >"$SWARM_HOME/run.out" 2>"$SWARM_HOME/run.err" &
run=$!
track $run
i=0
while ! grep -q 'chain:' "$SWARM_HOME/run.err" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
used=$(sed -n 's/.*chain: 127\.0\.0\.1:\([0-9]*\) blocks 0:2.*/\1/p' "$SWARM_HOME/run.err")
sleep 0.3
if [ "$used" = "$p1" ]; then kill -9 "$pid_n1"; dead=$p1; live=$p3; else
	kill -9 "$pid_n3"; dead=$p3; live=$p1; fi
wait $run
rc=$?
check failover-exit0 [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/  /' "$SWARM_HOME/run.err"
check failover-golden cmp -s "$SWARM_HOME/run.out" "$G"
check failover-counted grep -q 'failovers: [1-9]' "$SWARM_HOME/run.err"
# The killed node's record is still fresh, but models status asks every
# peer: it shows as unreachable and counts for nothing, at once.
poll_status dead-node-unreachable 3 "
m = d['models'][0]
assert [p['state'] for p in m['peers'] if p['addr'] == '127.0.0.1:$dead'] in (
    ['unreachable'], []), m['peers']
assert m['replicas'] == [1, 1, 1, 1, 1], m['replicas']"
poll_status dead-node-gone 12 "
m = d['models'][0]
assert m['complete'] and m['replicas'] == [1, 1, 1, 1, 1], m['replicas']
assert sorted(p['addr'] for p in m['peers']) == sorted(
    ['127.0.0.1:$live', '127.0.0.1:$p2'])"

# SIGTERM the last node of [0,2): it drains, exits 0, and withdraws its
# record (its last says gone): within 2 s it is not listed, and [0,2) is a
# gap, named.
if [ "$live" = "$p1" ]; then pid=$pid_n1; else pid=$pid_n3; fi
kill -TERM "$pid"
wait "$pid"
check drained-exit0 [ $? -eq 0 ]
poll_status gap 2 "
m = d['models'][0]
assert not m['complete']
assert m['gaps'] == [{'begin': 0, 'end': 2}], m['gaps']
assert [p for p in m['peers'] if p['addr'] == '127.0.0.1:$live'] == []"
expect gap-text 3 "$SWARM" models status --bootstrap "127.0.0.1:$bs" "$M"
check gap-named sh -c 'printf "%s\n" "$1" | grep -q "blocks 0:2 have no peer"' _ "$out"
check gap-incomplete sh -c 'printf "%s\n" "$1" | grep -q "blocks 5, incomplete"' _ "$out"

# --blocks auto (the default) fills the gap: the draining node counts for
# nothing, so two blocks go to [0,2), and the model is complete again.
start_node n4 --num-blocks 2 --bootstrap "127.0.0.1:$p2"
check auto-gap grep -q "blocks auto: 0:2 of 5" "$SWARM_HOME/n4.log"
poll_status auto-complete 8 "
m = d['models'][0]
assert m['complete'] and m['replicas'] == [1, 1, 1, 1, 1], m['replicas']"
expect auto-needs-swarm 2 "$SWARM" node join -m "$M" --listen 127.0.0.1:0
# The only node of [2,5) dies mid-run and comes back on its port two seconds
# later: the client waits out its ban instead of failing the run for want
# of a peer, then replays the span there.
"$SWARM" infer run -m "$M" --bootstrap "127.0.0.1:$p2" -n 200 --temp 0 -v \
    >"$SWARM_HOME/back.out" 2>"$SWARM_HOME/back.err" &
run=$!
track $run
i=0
while ! grep -q 'chain:' "$SWARM_HOME/back.err" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
sleep 0.3
kill -9 "$pid_n2"
wait "$pid_n2" 2>/dev/null
sleep 2
rm -f "$SWARM_HOME/n2b.port"
mkdir -p "$SWARM_HOME/n2b"
SWARM_HOME=$SWARM_HOME/n2 "$SWARM" node join -m "$M" --blocks 2:5 \
    --listen "127.0.0.1:$p2" --bootstrap "127.0.0.1:$p1" \
    2>"$SWARM_HOME/n2b.log" &
track $!
wait $run
rc=$?
check only-peer-back-exit0 [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/  /' "$SWARM_HOME/back.err" "$SWARM_HOME/n2b.log"
check only-peer-back-golden cmp -s "$SWARM_HOME/back.out" "$G"
check only-peer-back-waited grep -q 'waiting' "$SWARM_HOME/back.err"
exit $cli_failed
