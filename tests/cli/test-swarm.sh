# The swarm's data path on loopback: nodes serving spans of a model, a client
# routing through them (golden text, bit-identical to --local on quantized
# models), failover when the node in use is killed, a missing span, peers
# answering garbage, the protocol's error answers, status, leave and drain.
. tests/cli/lib.sh
M=$MODELS/stories260K.gguf
GOLDEN=$MODELS/golden/stories260K_run_t0_n200.expected.txt
PY=$PWD/tests/cli/swarm-stub.py

# start_node NAME MODEL BLOCKS [ARGS...]: a node (lib.sh's node_start).
start_node() {
	sn_name=$1 sn_model=$2 sn_blocks=$3
	shift 3
	node_start "$sn_name" -m "$sn_model" --blocks "$sn_blocks" \
	    --threads 1 "$@"
}

start_stub() {
	rm -f "$SWARM_HOME/$1.port"
	python3 "$PY" "$2" "$SWARM_HOME/$1.port" "$3" "$4" "$5" &
	pid=$!
	track $pid
	wait_file "$SWARM_HOME/$1.port" || { fail "start-$1"; return 1; }
	eval "port_$1=$(cat "$SWARM_HOME/$1.port")"
}

# --- three nodes, the golden text -------------------------------------------
start_node a "$M" 0:2
start_node b "$M" 2:4
start_node c "$M" 4:5
PEERS="--peer 127.0.0.1:$port_a --peer 127.0.0.1:$port_b --peer 127.0.0.1:$port_c"
expect golden-3-nodes 0 "$SWARM" infer run -m "$M" $PEERS -n 200 --temp 0 -v
check golden-3-nodes-text [ "$out" = "$(cat "$GOLDEN")" ]
check verbose-shows-chain sh -c 'echo "$1" | grep -q "chain: 127.0.0.1:$2 blocks 0:2" &&
    echo "$1" | grep -q "ms per step"' _ "$err" "$port_a"

expect f16-wire 0 "$SWARM" infer run -m "$M" $PEERS -n 20 --temp 0 \
    --wire-dtype f16
check f16-wire-text [ -n "$out" ]

# --- node status ----------------------------------------------------------------
expect status-json 0 "$SWARM" node status --json 127.0.0.1:$port_b
check status-fields sh -c 'printf "%s\n" "$1" | python3 -c "
import json,sys
d=json.load(sys.stdin)
r=d[\"record\"]; s=d[\"status\"]
assert r[\"block_begin\"]==2 and r[\"block_end\"]==4 and r[\"state\"]==\"online\", r
assert r[\"throughput\"]>0
assert s[\"tokens_processed\"]>=220 and s[\"sessions\"]==0, s
"' _ "$out"
expect status-text 0 "$SWARM" node status 127.0.0.1:$port_a
check status-text-blocks sh -c 'echo "$1" | grep -q "blocks *0:2 of 5"' _ "$out"
check status-text-channels sh -c 'echo "$1" | grep -q "^channels *[0-9][0-9]* open; [1-9][0-9]* of the steps came on one$"' _ "$out"
expect status-down 1 "$SWARM" node status 127.0.0.1:1
MODEL_ID=$(curl -s "127.0.0.1:$port_a/info" | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["record"]["model_id"])')

# --- the protocol's answers -----------------------------------------------------
check protocol-errors python3 - "$port_a" "$MODEL_ID" <<'PYEOF'
import http.client, json, struct, sys
port, mid = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port)
def req(method, path, body=None):
    c.request(method, path, body)
    r = c.getresponse()
    return r.status, r.read()
def frame(step, pos0, n=1, width=64, extra=b""):
    h = b"SWHS" + struct.pack("<HHIIIIQQQ", 1, 0, n, width, pos0, 0, step, 0, 0)
    return h + b"\0\0\x80\x3f" * (n * width) + extra
st, b = req("POST", "/sessions", json.dumps({"model_id": mid, "block_begin": 0,
          "block_end": 2, "max_length": 8}))
assert st == 200, (st, b)
sid = json.loads(b)["session_id"]
p = "/sessions/%s/step" % sid
st, a0 = req("POST", p, frame(0, 0)); assert st == 200, (st, a0)
st, again = req("POST", p, frame(0, 0)); assert st == 200 and again == a0
st, a1 = req("POST", p, frame(1, 1)); assert st == 200 and a1 != a0
st, b = req("POST", p, frame(5, 2)); assert st == 409 and b"wrong_step" in b, b
st, b = req("POST", p, frame(2, 7)); assert st == 409 and b"wrong_position" in b, b
st, b = req("POST", p, frame(2, 2, width=63)); assert st == 400, b
st, b = req("POST", p, frame(2, 2, extra=b"x")); assert st == 400, b
st, b = req("POST", p, frame(2, 2, n=9)); assert st == 400, b
st, b = req("POST", p, b"SWHS" + struct.pack("<HHII", 1, 0, 0xffffffff, 0xffffffff)
            + b"\0" * 32); assert st == 400, b
st, b = req("POST", p, b"junk"); assert st == 400, b
assert "error" in json.loads(b) and json.loads(b)["error"]["code"] == "malformed"
st, b = req("POST", "/sessions/00000000000000ff/step", frame(0, 0)); assert st == 404, b
st, b = req("POST", "/sessions", json.dumps({"model_id": mid, "block_begin": 0,
          "block_end": 3, "max_length": 8})); assert st == 400, b
st, b = req("POST", "/sessions", json.dumps({"model_id": mid, "block_begin": 0,
          "block_end": 2, "max_length": 1 << 19})); assert st == 503, b
st, b = req("POST", "/sessions", json.dumps({"model_id": "x", "block_begin": 0,
          "block_end": 2, "max_length": 8})); assert st == 404, b
st, b = req("POST", "/sessions", "{"); assert st == 400, b
st, b = req("POST", "/control/leave"); assert st == 403, b
st, b = req("DELETE", "/sessions/" + sid); assert st == 200, b
st, b = req("DELETE", "/sessions/" + sid); assert st == 404, b
PYEOF

start_node one "$M" 0:5 --max-sessions 1 --max-context 64 --drain-timeout 1
check session-limit python3 - "$port_one" "$MODEL_ID" <<'PYEOF'
import http.client, json, sys
port, mid = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port)
def req(method, path, body=None):
    c.request(method, path, body)
    r = c.getresponse()
    return r.status, r.read()
def body(n):
    return json.dumps({"model_id": mid, "block_begin": 1, "block_end": 3,
                       "max_length": n})
st, b = req("POST", "/sessions", body(65))
assert st == 503 and json.loads(b)["error"]["code"] == "context", b
st, b = req("POST", "/sessions", body(64)); assert st == 200, b
st, b = req("POST", "/sessions", body(8))
assert st == 503 and json.loads(b)["error"]["code"] == "full", b
st, b = req("GET", "/info")
assert json.loads(b)["record"]["free_sessions"] == 0, b
assert json.loads(b)["status"]["session_list"][0]["block_end"] == 3, b
PYEOF
# A drain waits for open sessions (up to a bound): this one is left open.
start=$(date +%s)
kill $pid_one
wait $pid_one
rc=$?
check drain-bounded [ $rc -eq 0 -a $(( $(date +%s) - start )) -le 4 ]
check drain-bounded-log grep -q "still open after 1 s" "$SWARM_HOME/one.log"

# --- quantized models: bit-identical to --local ------------------------------
for q in synth-qwen2-Q8_0 synth-llama-Q4_K_M; do
	Q=$MODELS/synth/$q.gguf
	start_node q1 "$Q" 0:2
	start_node q2 "$Q" 2:4
	# Every row of logits, byte for byte, and the text.
	expect "$q-local" 0 "$SWARM" infer run --local -m "$Q" -n 40 --temp 0 \
	    --ignore-eos --dump-logits "$SWARM_HOME/local.f32" "Once upon a time"
	local_text=$out
	expect "$q-swarm" 0 "$SWARM" infer run -m "$Q" -n 40 --temp 0 \
	    --ignore-eos --dump-logits "$SWARM_HOME/swarm.f32" \
	    --peer 127.0.0.1:$port_q1 --peer 127.0.0.1:$port_q2 "Once upon a time"
	check "$q-same-text" [ "$out" = "$local_text" ]
	check "$q-same-logits" cmp -s "$SWARM_HOME/local.f32" "$SWARM_HOME/swarm.f32"
	kill $pid_q1 $pid_q2
	wait $pid_q1 $pid_q2
done

# --- a missing span fails fast, naming the blocks ------------------------------
start=$(date +%s)
expect missing-span 1 "$SWARM" infer run -m "$M" --peer 127.0.0.1:$port_a \
    --peer 127.0.0.1:$port_c -n 5 --temp 0
check missing-span-named sh -c 'echo "$1" | grep -q "blocks 2:4 have no peer"' _ "$err"
check missing-span-fast [ $(( $(date +%s) - start )) -le 3 ]
expect no-peer-at-all 1 "$SWARM" infer run -m "$M" --peer 127.0.0.1:1 -n 5
check no-peer-named sh -c 'echo "$1" | grep -q "blocks 0:5 have no peer"' _ "$err"

# --- peers answering garbage are refused and routed around ---------------------
expect local-30 0 "$SWARM" infer run --local -m "$M" -n 30 --temp 0
text30=$out
# A slow real node for [2,4), so that the stubs' promises win the routing.
export SWARM_TEST_STEP_DELAY_MS=20
start_node slow "$M" 2:4
unset SWARM_TEST_STEP_DELAY_MS
SLOW=$port_slow
kill $pid_b
wait $pid_b 2>/dev/null
start_stub junk junk-info "$MODEL_ID" 2 4
for mode in garbage width nan inf huge; do
	start_stub "s$mode" "$mode" "$MODEL_ID" 2 4
	eval "sp=\$port_s$mode"
	expect "stub-$mode" 0 "$SWARM" infer run -m "$M" -n 30 --temp 0 -v \
	    --peer 127.0.0.1:$port_a --peer 127.0.0.1:$port_junk \
	    --peer 127.0.0.1:$sp --peer 127.0.0.1:$SLOW --peer 127.0.0.1:$port_c
	check "stub-$mode-text" [ "$out" = "$text30" ]
	check "stub-$mode-refused" sh -c 'echo "$1" | grep -q "peer 127.0.0.1:$2 refused"' \
	    _ "$err" "$sp"
done

# The only peer of [2,4) answers garbage: its bans are waited out until the
# run's deadline, then the run fails naming the blocks and that peer's
# failure (its address once).
expect only-garbage 1 "$SWARM" infer run -m "$M" -n 5 --temp 0 --timeout 5 \
    --peer 127.0.0.1:$port_a --peer 127.0.0.1:$port_sgarbage \
    --peer 127.0.0.1:$port_c
check only-garbage-named sh -c 'echo "$1" | grep -q \
    "blocks 2:4 have no peer (last failure: 127.0.0.1:$2: [^0-9]"' _ "$err" \
    "$port_sgarbage"

# --- verification: a liar passes every range check, not a second replica ----
# The liar relays to a real node and scales its answers by 1.25; with
# client.verify_rate 1 every step is checked on a random hop, so the liar
# is caught, named and refused, and the text is the honest one.
start_node up "$M" 2:4
STUB_UPSTREAM=127.0.0.1:$port_up start_stub liar lie "$MODEL_ID" 2 4
# Hop by hop: with push the liar, a relay, passes the honest node's rows on.
expect liar-unchecked 0 "$SWARM" infer run -m "$M" -n 30 --temp 0 --no-push \
    --peer 127.0.0.1:$port_a --peer 127.0.0.1:$port_liar \
    --peer 127.0.0.1:$SLOW --peer 127.0.0.1:$port_c
check liar-changes-text [ "$out" != "$text30" ]
SWARM_CLIENT_VERIFY_RATE=1 expect liar-verified 0 "$SWARM" infer run -m "$M" \
    -n 30 --temp 0 -v --peer 127.0.0.1:$port_a --peer 127.0.0.1:$port_liar \
    --peer 127.0.0.1:$SLOW --peer 127.0.0.1:$port_c
check liar-verified-text [ "$out" = "$text30" ]
check liar-named sh -c 'echo "$1" | grep -q "verify: peers 127.0.0.1:$2 .* disagree on blocks 2:4"' \
    _ "$err" "$port_liar"
check liar-counted sh -c 'echo "$1" | grep -q "verified: [1-9][0-9]* steps, 1 mismatches"' \
    _ "$err"
# Honest replicas agree: no mismatch, the same text.
SWARM_CLIENT_VERIFY_RATE=1 expect honest-verified 0 "$SWARM" infer run -m "$M" \
    -n 30 --temp 0 -v --peer 127.0.0.1:$port_a --peer 127.0.0.1:$port_up \
    --peer 127.0.0.1:$SLOW --peer 127.0.0.1:$port_c
check honest-verified-text [ "$out" = "$text30" ]
check honest-no-mismatch sh -c 'echo "$1" | grep -q "verified: [1-9][0-9]* steps, 0 mismatches"' \
    _ "$err"
kill $pid_up
wait $pid_up 2>/dev/null

# --- failover: kill -9 the replica in use during generation -------------------
kill $pid_slow
wait $pid_slow 2>/dev/null
export SWARM_TEST_STEP_DELAY_MS=3
start_node r1 "$M" 2:4
start_node r2 "$M" 2:4
unset SWARM_TEST_STEP_DELAY_MS
: >"$SWARM_HOME/fo.err"
"$SWARM" infer run -m "$M" -n 200 --temp 0 -v --peer 127.0.0.1:$port_a \
    --peer 127.0.0.1:$port_r1 --peer 127.0.0.1:$port_r2 \
    --peer 127.0.0.1:$port_c >"$SWARM_HOME/fo.out" 2>"$SWARM_HOME/fo.err" &
cpid=$!
track $cpid
i=0
while ! grep -q "chain:" "$SWARM_HOME/fo.err" && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
sleep 0.2
if grep -q "127.0.0.1:$port_r1 blocks 2:4" "$SWARM_HOME/fo.err"; then
	victim=$pid_r1 survivor=$pid_r2
else
	victim=$pid_r2 survivor=$pid_r1
fi
kill -9 $victim
wait $cpid
check failover-exit [ $? -eq 0 ]
check failover-golden cmp -s "$SWARM_HOME/fo.out" "$GOLDEN"
check failover-replayed grep -q "replayed" "$SWARM_HOME/fo.err"
check failover-killed-mid-run sh -c '! grep -q "failovers: 0" "$1"' _ \
    "$SWARM_HOME/fo.err"

# --- a hung replica (kill -STOP): left after a few seconds, not a minute -----
# Its steps took milliseconds, so the client waits seconds for one, once
# (not the 60 s --step-timeout, and not twice it), then fails over.
export SWARM_TEST_STEP_DELAY_MS=3
start_node h1 "$M" 2:4
start_node h2 "$M" 2:4
unset SWARM_TEST_STEP_DELAY_MS
# run_stopped NAME PEERS...: runs 200 tokens in the background, and stops
# the node of [2,4) in use once the chain is built; $stopped is its pid.
run_stopped() {
	rs=$1
	shift
	: >"$SWARM_HOME/$rs.err"
	rs_t0=$(date +%s)
	"$SWARM" infer run -m "$M" -n 200 --temp 0 -v "$@" \
	    >"$SWARM_HOME/$rs.out" 2>"$SWARM_HOME/$rs.err" &
	cpid=$!
	track $cpid
	i=0
	while ! grep -q "chain:" "$SWARM_HOME/$rs.err" && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	sleep 0.2
	if grep -q "127.0.0.1:$port_h1 blocks 2:4" "$SWARM_HOME/$rs.err"; then
		stopped=$pid_h1
	else
		stopped=$pid_h2
	fi
	kill -STOP $stopped
}
run_stopped hung --peer 127.0.0.1:$port_a --peer 127.0.0.1:$port_h1 \
    --peer 127.0.0.1:$port_h2 --peer 127.0.0.1:$port_c
wait $cpid
hung_rc=$?
hung_secs=$(($(date +%s) - rs_t0))
kill -CONT $stopped
check hung-exit [ $hung_rc -eq 0 ]
check hung-golden cmp -s "$SWARM_HOME/hung.out" "$GOLDEN"
echo "hung: the run took ${hung_secs} s"
# (6 s here: the push's wait, then a chain of the peers already known; the
# bound tells it from the 60 s step timeout, with room for a loaded machine)
check hung-left-in-seconds [ "$hung_secs" -lt 20 ]
# The only node of a span hangs for 3 s: the run goes on there.
if [ "$stopped" = "$pid_h1" ]; then only=$port_h2; else only=$port_h1; fi
run_stopped onlyhung --peer 127.0.0.1:$port_a --peer 127.0.0.1:$only \
    --peer 127.0.0.1:$port_c
sleep 3
kill -CONT $stopped
wait $cpid
check only-peer-hung-exit [ $? -eq 0 ]
check only-peer-hung-golden cmp -s "$SWARM_HOME/onlyhung.out" "$GOLDEN"
kill $pid_h1 $pid_h2
wait $pid_h1 $pid_h2 2>/dev/null

# --- a node that freed an idle session: reopened there and replayed ----------
# Node "sl" is slow, so the session on "ta" idles past its timeout: each
# gap (2.1 s) outlasts the timeout (1 s) by more than the node's 1 s sweep.
start_node ta "$M" 0:2 --session-timeout 1
export SWARM_TEST_STEP_DELAY_MS=2100
start_node sl "$M" 2:5
unset SWARM_TEST_STEP_DELAY_MS
expect local-3 0 "$SWARM" infer run --local -m "$M" -n 3 --temp 0
text3=$out
expect idle-reopen 0 "$SWARM" infer run -m "$M" -n 3 --temp 0 -v \
    --peer 127.0.0.1:$port_ta --peer 127.0.0.1:$port_sl
check idle-reopen-text [ "$out" = "$text3" ]
check idle-reopen-replayed sh -c 'echo "$1" | grep -q "reopening" &&
    echo "$1" | grep -q "replayed"' _ "$err"
kill $pid_ta $pid_sl
wait $pid_ta $pid_sl

# --- drain: SIGTERM, and node leave with a session open ------------------------
kill -TERM $survivor
wait $survivor
check sigterm-drains [ $? -eq 0 ]
check leave-with-session python3 - "$port_a" "$MODEL_ID" "$SWARM" <<'PYEOF'
import http.client, json, subprocess, sys
port, mid, swarm = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port)
def req(method, path, body=None):
    c.request(method, path, body)
    r = c.getresponse()
    return r.status, r.read()
open_body = json.dumps({"model_id": mid, "block_begin": 0, "block_end": 2,
                        "max_length": 8})
st, b = req("POST", "/sessions", open_body); assert st == 200, b
sid = json.loads(b)["session_id"]
subprocess.run([swarm, "node", "leave", "127.0.0.1:%d" % port], check=True,
               stdout=subprocess.DEVNULL)
st, b = req("GET", "/info"); assert json.loads(b)["record"]["state"] == "draining"
st, b = req("POST", "/sessions", open_body)
assert st == 503 and json.loads(b)["error"]["code"] == "draining", b
st, b = req("DELETE", "/sessions/" + sid); assert st == 200, b
PYEOF
wait $pid_a
check leave-exit-0 [ $? -eq 0 ]
expect leave-wait 0 "$SWARM" node leave --wait 127.0.0.1:$port_c
wait $pid_c
check leave-wait-exit-0 [ $? -eq 0 ]
expect leave-no-node 1 "$SWARM" node leave 127.0.0.1:1
exit 0
