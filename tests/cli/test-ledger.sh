# The ledger on loopback: receipts through three nodes credit exactly the
# units computed, on both sides, a failover included; forged, inflated and
# replayed receipts are refused and counted; a row edited by hand fails
# `ledger verify`, named; a node past its credit limit is routed around
# with the text unchanged; a node killed with -9 keeps its receipts; a
# creditor's steps go first on a busy node; `serve` counts per API key.
. tests/cli/lib.sh
M=$MODELS/stories260K.gguf
GOLDEN=$MODELS/golden/stories260K_run_t0_n200.expected.txt

# start_node NAME BLOCKS [ARGS...]: as in test-swarm.sh, its ledger in
# NAME.db; the environment given before the call applies to it.
start_node() {
	sn_name=$1 sn_blocks=$2
	shift 2
	rm -f "$SWARM_HOME/$sn_name.port"
	SWARM_LEDGER_PATH="$SWARM_HOME/$sn_name.db" "$SWARM" node join \
	    -m "$M" --blocks "$sn_blocks" --listen 127.0.0.1:0 \
	    --port-file "$SWARM_HOME/$sn_name.port" --threads 1 "$@" \
	    2>"$SWARM_HOME/$sn_name.log" &
	pid=$!
	track $pid
	eval "pid_$sn_name=$pid"
	wait_file "$SWARM_HOME/$sn_name.port" || {
		fail "start-$sn_name" "$(cat "$SWARM_HOME/$sn_name.log")"
		return 1
	}
	eval "port_$sn_name=$(cat "$SWARM_HOME/$sn_name.port")"
}

# stop NAME...: SIGTERM, and wait until each is gone (its ledger flushed).
stop() {
	for st_n in "$@"; do
		eval "kill \$pid_$st_n; wait \$pid_$st_n 2>/dev/null"
	done
}

# info NAME: the node's /info document.
info() {
	eval "curl -s 127.0.0.1:\$port_$1/info"
}

# accounts CLIENT_DB NAME:BLOCKS:TOKENS...: for each node, the units its
# ledger credits the client with, the units the client's ledger says it
# used there, and blocks x tokens (TOKENS - for "do not compare") agree.
accounts() {
	ac_db=$1
	shift
	for ac in "$@"; do
		ac_n=${ac%%:*}
		ac_id=$(python3 -c 'import json,sys
print(json.load(sys.stdin)["record"]["peer_id"])' <"$SWARM_HOME/$ac_n.info")
		"$SWARM" ledger show --json --db "$SWARM_HOME/$ac_n.db" \
		    >"$SWARM_HOME/$ac_n.show" || return 1
		"$SWARM" ledger show --json --db "$ac_db" --peer "$ac_id" \
		    >"$SWARM_HOME/$ac_n.client" || return 1
		python3 - "$SWARM_HOME/$ac_n.show" "$SWARM_HOME/$ac_n.client" \
		    "$ac" <<'PYEOF' || return 1
import json, sys
node = json.load(open(sys.argv[1]))
client = json.load(open(sys.argv[2]))
name, blocks, tokens = sys.argv[3].split(":")
assert len(node["peers"]) == 1, node
served = node["peers"][0]["served_units"]
used = client["totals"]["used_units"]
want = int(blocks) * int(tokens) if tokens != "-" else used
print(name, "served", served, "used", used, "computed", want)
assert served == used == want and served > 0, (served, used, want)
PYEOF
	done
}

# --- three nodes: both ledgers agree, and with what was computed ---------
start_node a 0:2
start_node b 2:4
start_node c 4:5
PEERS="--peer 127.0.0.1:$port_a --peer 127.0.0.1:$port_b --peer 127.0.0.1:$port_c"
expect three-nodes-run 0 "$SWARM" infer run -m "$M" $PEERS -n 200 --temp 0
check three-nodes-golden [ "$out" = "$(cat "$GOLDEN")" ]
for n in a b c; do info $n >"$SWARM_HOME/$n.info"; done
tok() {
	python3 -c 'import json,sys
print(json.load(sys.stdin)["status"]["tokens_processed"])' <"$SWARM_HOME/$1.info"
}
ta=$(tok a) tb=$(tok b) tc=$(tok c)
stop a b c
check three-nodes-exact-units accounts "$SWARM_HOME/ledger.db" a:2:$ta \
    b:2:$tb c:1:$tc
check three-nodes-200-tokens [ "$ta" -eq 200 ]
for n in a b c; do
	expect verify-$n 0 "$SWARM" ledger verify --db "$SWARM_HOME/$n.db"
done
expect verify-client 0 "$SWARM" ledger verify
check client-key-kept [ -s "$SWARM_HOME/client.key" ]

# --- failover: the replacement is credited for the replay, the one that
# stopped for what it acknowledged ------------------------------------------
rm -f "$SWARM_HOME/ledger.db"*
start_node a 0:2
start_node d 2:5
export SWARM_TEST_STEP_DELAY_MS=3
start_node r1 0:2 --drain-timeout 0
start_node r2 0:2 --drain-timeout 0
unset SWARM_TEST_STEP_DELAY_MS
stop a
info r1 >"$SWARM_HOME/r1.info"
info r2 >"$SWARM_HOME/r2.info"
"$SWARM" infer run -m "$M" -n 200 --temp 0 -v --peer 127.0.0.1:$port_r1 \
    --peer 127.0.0.1:$port_r2 --peer 127.0.0.1:$port_d \
    >"$SWARM_HOME/fo.out" 2>"$SWARM_HOME/fo.err" &
cpid=$!
track $cpid
i=0
while ! grep -q "chain:" "$SWARM_HOME/fo.err" && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
sleep 0.2
if grep -q "127.0.0.1:$port_r1 blocks 0:2" "$SWARM_HOME/fo.err"; then
	victim=r1 survivor=r2
else
	victim=r2 survivor=r1
fi
stop $victim
wait $cpid
check failover-exit [ $? -eq 0 ]
check failover-golden cmp -s "$SWARM_HOME/fo.out" "$GOLDEN"
check failover-replayed grep -q "replayed" "$SWARM_HOME/fo.err"
info $survivor >"$SWARM_HOME/$survivor.info"
info d >"$SWARM_HOME/d.info"
ts=$(tok $survivor) tc=$(tok d)
stop $survivor d
check failover-survivor-replayed [ "$ts" -gt 0 ] && [ "$ts" -le 200 ]
check failover-exact-units accounts "$SWARM_HOME/ledger.db" \
    $survivor:2:$ts d:3:$tc $victim:2:-
check failover-both-credited [ "$tc" -eq 200 ]
