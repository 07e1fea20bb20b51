# Server-to-server push on loopback: three nodes forward each step's output
# to the next one; the text is the same as --local and as push off, the
# nodes' counters show who sent each step, push auto's trial goes on
# across short runs, a middle (then the last, then
# the first) node killed with -9 mid-run stalls a step and the text stays
# the same, steps go on channels (plain HTTP when told), and a node refuses to forward to an address no signed route
# names (no open relay).
. tests/cli/lib.sh
M=$MODELS/stories260K.gguf
GOLDEN=$MODELS/golden/stories260K_run_t0_n200.expected.txt

# start_node NAME BLOCKS [ARGS...]: a node of $M (lib.sh's node_start).
start_node() {
	sn_name=$1 sn_blocks=$2
	shift 2
	node_start "$sn_name" -m "$M" --blocks "$sn_blocks" --threads 1 "$@"
}

# push_field PORT FIELD: a counter of the node's push object.
push_field() {
	curl -s "127.0.0.1:$1/status" | python3 -c \
	    'import json,sys; print(json.load(sys.stdin)["status"]["push"][sys.argv[1]])' "$2"
}

start_node a 0:2
start_node b 2:4
start_node c 4:5
PEERS="--peer 127.0.0.1:$port_a --peer 127.0.0.1:$port_b --peer 127.0.0.1:$port_c"

# --- the same text three ways ----------------------------------------------------
expect local-200 0 "$SWARM" infer run --local -m "$M" -n 200 --temp 0
check local-golden [ "$out" = "$(cat "$GOLDEN")" ]
expect push-on 0 "$SWARM" infer run -m "$M" $PEERS -n 200 --temp 0 -v --push
check push-on-golden [ "$out" = "$(cat "$GOLDEN")" ]
check push-on-said sh -c 'echo "$1" | grep -q "steps: pushed node to node" &&
    echo "$1" | grep -q "push: on, 200 steps pushed, 0 stalled"' _ "$err"
# One step a token went client -> a -> b -> c: b and c got theirs from peers,
# a forwarded each, c answered the client's wait.
check push-counted-b [ "$(push_field $port_b steps_from_peers)" -eq 200 ]
check push-counted-c [ "$(push_field $port_c steps_from_peers)" -eq 200 ]
check push-counted-a [ "$(push_field $port_a forwarded)" -eq 200 ] 
check push-counted-waits [ "$(push_field $port_c waits)" -eq 200 ]
check push-counted-client [ "$(push_field $port_c steps_from_client)" -eq 0 ]
expect push-off 0 "$SWARM" infer run -m "$M" $PEERS -n 200 --temp 0 -v --no-push
check push-off-golden [ "$out" = "$(cat "$GOLDEN")" ]
check push-off-said sh -c 'echo "$1" | grep -q "push: off"' _ "$err"
# Push off: every step of c came from the client.
check push-off-counted [ "$(push_field $port_c steps_from_client)" -eq 200 ]
check push-off-no-peer-step [ "$(push_field $port_c steps_from_peers)" -eq 200 ]
# Channels: every step above came on one (the client's to each node, a's
# and b's pushes); with swarm.channels false the client steps over HTTP,
# and the text is the same.
chan_field() {
	curl -s "127.0.0.1:$1/status" | python3 -c \
	    'import json,sys; print(json.load(sys.stdin)["status"]["channels"][sys.argv[1]])' "$2"
}
check channel-steps-a [ "$(chan_field $port_a steps)" -eq 400 ]
check channel-steps-b [ "$(chan_field $port_b steps)" -eq 400 ]
check channel-steps-c [ "$(chan_field $port_c steps)" -eq 400 ]
check channel-open-c [ "$(chan_field $port_c open)" -ge 1 ]
"$SWARM" config set swarm.channels false >/dev/null
expect plain-http 0 "$SWARM" infer run -m "$M" $PEERS -n 200 --temp 0 --no-push
"$SWARM" config unset swarm.channels >/dev/null
check plain-http-golden [ "$out" = "$(cat "$GOLDEN")" ]
check plain-http-not-on-channels [ "$(chan_field $port_c steps)" -eq 400 ]
check plain-http-counted [ "$(push_field $port_c steps_from_client)" -eq 400 ]
# Auto, the default: the first single-token steps take turns between the
# two ways, three in a row each, until six of each are timed, then the
# faster is kept; the text is the same, and every step went one way or the
# other.
steps_c() {
	echo $(( $(push_field $port_c steps_from_peers) +
	    $(push_field $port_c steps_from_client) ))
}
before_c=$(steps_c)
expect push-auto 0 "$SWARM" infer run -m "$M" $PEERS -n 200 --temp 0 -v
check push-auto-golden [ "$out" = "$(cat "$GOLDEN")" ]
check push-auto-said sh -c 'echo "$1" | grep -q "steps: .* (push auto)" &&
    echo "$1" | grep -q "push auto: a token took [0-9.]* ms pushed, [0-9.]* ms sent to every hop (median of 6 each): \(pushing\|sending\) for 120 s" &&
    echo "$1" | grep -q "^push: auto, \(on\|off\) (a token [0-9.]* ms pushed, [0-9.]* ms sent to every hop), "' _ "$err"
auto_pushed=$(echo "$err" | sed -n 's/^push: auto.*, \([0-9]*\) steps pushed,.*/\1/p')
auto_sent=$(echo "$err" | sed -n 's/^push: auto.*, \([0-9]*\) sent to every hop$/\1/p')
check push-auto-both-ways sh -c '[ "$1" -ge 6 ] && [ "$2" -ge 6 ] &&
    [ $(($1 + $2)) -eq 200 ]' _ "${auto_pushed:-0}" "${auto_sent:-0}"
check push-auto-counted [ $(( $(steps_c) - before_c )) -eq 200 ]
# The verdict outlives the run (push-verdicts in the data directory): the
# next run over the same chain goes the way it found at once, every step.
auto_way=$(echo "$err" | sed -n 's/^push: auto, \(on\|off\) .*/\1/p')
expect push-auto-again 0 "$SWARM" infer run -m "$M" $PEERS -n 40 --temp 0 -v
check push-auto-again-said sh -c 'echo "$1" | grep -q "push auto: 1 verdict of earlier runs" &&
    ! echo "$1" | grep -q "push auto: a token took"' _ "$err"
again_pushed=$(echo "$err" | sed -n 's/^push: auto.*, \([0-9]*\) steps pushed,.*/\1/p')
check push-auto-again-one-way sh -c '[ "$1" = on ] && [ "$2" -eq 40 ] ||
    { [ "$1" = off ] && [ "$2" -eq 0 ]; }' _ "$auto_way" "${again_pushed:-x}"
# Runs shorter than a trial (8 tokens: 2 timed steps of each way) go on
# with the trial the last one left in the file, and together end it.
find "$SWARM_HOME" -name push-verdicts -exec rm -f {} +
short_runs=0 short_said=
while [ $short_runs -lt 6 ]; do
	short_runs=$((short_runs + 1))
	short_err=$("$SWARM" infer run -m "$M" $PEERS -n 8 --temp 0 -v \
	    --ignore-eos 2>&1 >/dev/null)
	if [ $short_runs -eq 2 ]; then
		short_said=$short_err
	fi
	if echo "$short_err" | grep -q "push auto: a token took"; then
		break
	fi
done
check push-auto-short-runs-end-a-trial sh -c 'echo "$1" | grep -q "push auto: a token took" &&
    [ "$2" -ge 3 ] && [ "$2" -le 5 ]' _ "$short_err" "$short_runs"
check push-auto-short-runs-go-on sh -c 'echo "$1" | grep -q "push auto: 0 verdicts and 1 trial going on of earlier runs"' _ "$short_said"
expect push-config-bad 1 "$SWARM" config set swarm.push maybe
check push-config-bad-said sh -c 'echo "$1" | grep -q "not auto, true or false"' _ "$err"
expect push-flags-conflict 2 "$SWARM" infer run -m "$M" \
    $PEERS -n 2 --push --no-push
# The config key turns it off too.
"$SWARM" config set swarm.push false >/dev/null 2>&1
expect push-config-off 0 "$SWARM" infer run -m "$M" $PEERS -n 20 --temp 0 -v
check push-config-off-said sh -c 'echo "$1" | grep -q "push: off"' _ "$err"
"$SWARM" config set swarm.push true >/dev/null 2>&1
# A client that checks replicas sends every step itself.
SWARM_CLIENT_VERIFY_RATE=0.5 expect push-verify-off 0 "$SWARM" infer run \
    -m "$M" $PEERS -n 20 --temp 0 -v --push
check push-verify-off-said sh -c 'echo "$1" | grep -q "push off: checking replicas" &&
    echo "$1" | grep -q "^push: off"' _ "$err"

# --- no open relay ------------------------------------------------------------
MODEL_ID=$(curl -s "127.0.0.1:$port_a/info" | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["record"]["model_id"])')
check relay-refused python3 - "$port_a" "$MODEL_ID" <<'PYEOF'
import http.client, json, sys
port, mid = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port)
def req(method, path, body=None):
    c.request(method, path, body)
    r = c.getresponse()
    return r.status, r.read()
st, b = req("POST", "/sessions", json.dumps({"model_id": mid, "block_begin": 0,
            "block_end": 2, "max_length": 8}))
assert st == 200, (st, b)
sid = json.loads(b)["session_id"]
route = {"next": "192.0.2.1:80", "next_session": "00000000000000aa",
         "step_delta": 0, "seq": 1, "signature": "00" * 64}
# An unsigned session: its node forwards nowhere.
st, b = req("POST", "/sessions/%s/route" % sid, json.dumps(route))
assert st == 403 and json.loads(b)["error"]["code"] == "relay_refused", (st, b)
# Hostile sizes and shapes are refused before anything is done.
for bad in ({"next": "x" * 300, "next_session": "00000000000000aa",
             "step_delta": 0, "seq": 1, "signature": "00" * 64},
            dict(route, next_session="zz"), dict(route, seq=0),
            dict(route, step_delta=1 << 50), dict(route, signature="00")):
    st, b = req("POST", "/sessions/%s/route" % sid, json.dumps(bad))
    assert st == 400 and json.loads(b)["error"]["code"] == "malformed", (bad, st, b)
st, b = req("POST", "/sessions/%s/route" % sid, b"{not json")
assert st == 400, (st, b)
st, b = req("POST", "/sessions/00000000000000ab/route", json.dumps(route))
assert st == 404, (st, b)
# A wait: for a step not run yet it gives up, past ones are gone.
c.request("GET", "/sessions/%s/steps/0" % sid, headers={"X-Swarm-Wait": "0.2"})
r = c.getresponse(); b = r.read()
assert r.status == 504 and json.loads(b)["error"]["code"] == "not_yet", (r.status, b)
c.request("GET", "/sessions/%s/steps/0" % sid, headers={"X-Swarm-Wait": "1e9"})
r = c.getresponse(); b = r.read()
assert r.status == 400, (r.status, b)
c.request("GET", "/sessions/%s/steps/-1" % sid)
r = c.getresponse(); b = r.read()
assert r.status == 400, (r.status, b)
# A pushed step refused: the wait for it hears so at once.
c.request("POST", "/sessions/%s/step" % sid, body=b"SWHS" + b"\0" * 20,
          headers={"X-Swarm-Pushed-By": "127.0.0.1:1",
                   "Content-Type": "application/x-swarm-step"})
r = c.getresponse(); b = r.read()
assert r.status == 400, (r.status, b)
c.request("GET", "/sessions/%s/steps/0" % sid, headers={"X-Swarm-Wait": "30"})
r = c.getresponse(); b = r.read()
assert r.status == 502 and json.loads(b)["error"]["code"] == "push_refused", (r.status, b)
req("DELETE", "/sessions/%s" % sid)
PYEOF
check relay-counted [ "$(push_field $port_a relay_refused)" -eq 1 ]

# --- kill -9 of the middle node mid-run ----------------------------------------
# b2 is a spare of b's span; both slow a little so the run lasts.
kill $pid_b
wait $pid_b 2>/dev/null
export SWARM_TEST_STEP_DELAY_MS=3
start_node b1 2:4
start_node b2 2:4
unset SWARM_TEST_STEP_DELAY_MS
: >"$SWARM_HOME/fo.err"
"$SWARM" infer run -m "$M" -n 200 --temp 0 -v --push --peer 127.0.0.1:$port_a \
    --peer 127.0.0.1:$port_b1 --peer 127.0.0.1:$port_b2 \
    --peer 127.0.0.1:$port_c >"$SWARM_HOME/fo.out" 2>"$SWARM_HOME/fo.err" &
cpid=$!
track $cpid
i=0
while ! grep -q "chain:" "$SWARM_HOME/fo.err" && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
sleep 0.3
if grep -q "127.0.0.1:$port_b1 blocks 2:4" "$SWARM_HOME/fo.err"; then
	victim=$pid_b1
else
	victim=$pid_b2
fi
kill -9 $victim
wait $cpid
check kill9-exit [ $? -eq 0 ]
check kill9-golden cmp -s "$SWARM_HOME/fo.out" "$GOLDEN"
check kill9-failover sh -c '! grep -q "failovers: 0" "$1"' _ "$SWARM_HOME/fo.err"
check kill9-stall-reported sh -c 'grep -q "stalled .* s and was finished hop by hop" "$1" &&
    grep -q "push: on, 200 steps pushed, [1-9][0-9]* stalled" "$1"' _ \
    "$SWARM_HOME/fo.err"
# After the failover the new chain pushes again: a routed the spare.
check kill9-rerouted [ "$(push_field $port_a routes)" -ge 3 ]

# --- kill -9 of the last node, and of the first, mid-run -------------------------
# run_kill NAME VICTIM_BLOCKS PEERS...: 200 tokens, the node in use for
# VICTIM_BLOCKS (of the two named c1/c2 or a1/a2) killed once the chain is up.
run_kill() {
	rk=$1 rk_blocks=$2 rk_x=$3 rk_y=$4
	shift 4
	: >"$SWARM_HOME/$rk.err"
	"$SWARM" infer run -m "$M" -n 200 --temp 0 -v --push "$@" \
	    >"$SWARM_HOME/$rk.out" 2>"$SWARM_HOME/$rk.err" &
	cpid=$!
	track $cpid
	i=0
	while ! grep -q "chain:" "$SWARM_HOME/$rk.err" && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	sleep 0.3
	if grep -q "127.0.0.1:$(eval echo \$port_$rk_x) blocks $rk_blocks" \
	    "$SWARM_HOME/$rk.err"; then
		kill -9 "$(eval echo \$pid_$rk_x)"
	else
		kill -9 "$(eval echo \$pid_$rk_y)"
	fi
	wait $cpid
	check $rk-exit [ $? -eq 0 ]
	check $rk-golden cmp -s "$SWARM_HOME/$rk.out" "$GOLDEN"
	check $rk-stall-reported grep -q "push: on, 200 steps pushed, [1-9][0-9]* stalled" \
	    "$SWARM_HOME/$rk.err"
}
survivor_b=$pid_b1
[ "$victim" = "$pid_b1" ] && survivor_b=$pid_b2
port_bs=$port_b1
[ "$victim" = "$pid_b1" ] && port_bs=$port_b2
export SWARM_TEST_STEP_DELAY_MS=3
start_node c1 4:5
start_node c2 4:5
start_node a1 0:2
start_node a2 0:2
unset SWARM_TEST_STEP_DELAY_MS
kill $pid_a $pid_c
wait $pid_a $pid_c 2>/dev/null
run_kill last 4:5 c1 c2 --peer 127.0.0.1:$port_a1 --peer 127.0.0.1:$port_bs \
    --peer 127.0.0.1:$port_c1 --peer 127.0.0.1:$port_c2
run_kill first 0:2 a1 a2 --peer 127.0.0.1:$port_a1 --peer 127.0.0.1:$port_a2 \
    --peer 127.0.0.1:$port_bs --peer 127.0.0.1:$port_c1 --peer 127.0.0.1:$port_c2


exit $cli_failed
