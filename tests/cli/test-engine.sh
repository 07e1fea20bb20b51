# The engine under infer run, serve and node join: streamed requests
# through `serve` over a 2-node swarm overlap (the compute pool is not held
# across a network round trip), infer run and serve pick the same default
# context, and a config with a bad key warns once per command.
. tests/cli/lib.sh
M=$MODELS/stories260K.gguf

# --- typed options: the dispatcher parses and range-checks them ------------
typed() {
	expect "typed-$1" 2 timeout 30 "$SWARM" $2
	check "typed-$1-msg" sh -c 'echo "$1" | grep -qF -- "$2"' _ "$err" "$3"
}
typed timeout "infer run --local -m $M --timeout 0" "--timeout: '0' is too small"
typed ctx "infer run --local -m $M -c 2x" "--ctx-size: '2x' is invalid"
typed penalty "infer run --local -m $M --repeat-penalty 1000" \
    "--repeat-penalty: '1000' is too large"
typed peer "serve -m $M --peer nohost" "--peer: 'nohost' is not HOST:PORT"
typed size "serve --local -m $M --max-body 2G" "--max-body: '2G' is too large"
typed session "node join -m $M --blocks 0:1 --session-timeout 0" \
    "--session-timeout: '0' is too small"
typed status-timeout "models status --timeout abc" \
    "--timeout: 'abc' is invalid"

# --- a bad config key warns once -------------------------------------------
printf 'bogus_key: 1\n' >"$SWARM_HOME/config.yaml"
expect warn-infer-local 0 "$SWARM" infer run --local -m "$M" -n 1 --temp 0 hi
check warn-infer-local-once [ "$(echo "$err" | grep -c "unknown config key 'bogus_key'")" = 1 ]
# the swarm path used to read it three times (a check, then per directory)
expect warn-infer-swarm 1 "$SWARM" infer run -m "$M" -n 1 \
    --bootstrap 127.0.0.1:1 hi
check warn-infer-swarm-once [ "$(echo "$err" | grep -c "unknown config key 'bogus_key'")" = 1 ]
rm -f "$SWARM_HOME/w.port"
"$SWARM" node join -m "$M" --blocks 0:5 --listen 127.0.0.1:0 --new-swarm \
    --port-file "$SWARM_HOME/w.port" --threads 1 2>"$SWARM_HOME/w.log" &
wpid=$!
track $wpid
if wait_file "$SWARM_HOME/w.port"; then
	kill $wpid
	wait $wpid
	check warn-node-join-once [ "$(grep -c "unknown config key 'bogus_key'" "$SWARM_HOME/w.log")" = 1 ]
else
	fail warn-node-join-once "$(cat "$SWARM_HOME/w.log")"
fi
rm -f "$SWARM_HOME/config.yaml"

# --- one default context for infer run and serve ---------------------------
# A model trained for 8192 positions: both cap the default at 4096. The
# generator is only a tool here: the release build of it does.
expect gen-model 0 make -s build/bench/gen-model
expect gen-ctx8192 0 build/bench/gen-model -q --dir "$SWARM_HOME/models" \
    --blocks 2 --embd 64 --ffn 128 --heads 4 --kv-heads 2 --vocab 300 \
    --ctx 8192 --type F32
BIG=$out
expect ctx-infer 0 "$SWARM" infer run --local -m "$BIG" -n 1 --temp 0 --json hi
ictx=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("n_ctx"))')
rm -f "$SWARM_HOME/c.port"
"$SWARM" serve -m "$BIG" --local --listen 127.0.0.1:0 --threads 1 \
    --port-file "$SWARM_HOME/c.port" 2>"$SWARM_HOME/c.log" &
cpid=$!
track $cpid
wait_file "$SWARM_HOME/c.port"
sleep 0.2
sctx=$(sed -n 's/.*context \([0-9]*\)).*/\1/p' "$SWARM_HOME/c.log")
kill $cpid
check ctx-same [ "$ictx" = "$sctx" ]
check ctx-capped [ "$ictx" = 4096 ]

# start_node NAME BLOCKS: a node of $M whose steps take 40 ms at least
# (lib.sh's node_start).
start_node() {
	node_env=SWARM_TEST_STEP_DELAY_MS=40
	node_start "$1" -m "$M" --blocks "$2" --threads 1 || exit 1
	node_env=
}
start_node n1 0:2
N1=$port
start_node n2 2:5
N2=$port
rm -f "$SWARM_HOME/d.port"
"$SWARM" serve -m "$M" --listen 127.0.0.1:0 --port-file "$SWARM_HOME/d.port" \
    --peer 127.0.0.1:$N1 --peer 127.0.0.1:$N2 --threads 1 \
    --max-concurrent 16 2>"$SWARM_HOME/d.log" &
track $!
wait_file "$SWARM_HOME/d.port" || { fail start-d "$(cat "$SWARM_HOME/d.log")"; exit 1; }
D=$(cat "$SWARM_HOME/d.port")
export D
check concurrent-streams python3 - <<'PYEOF'
import http.client, json, os, sys, threading, time

def stream():
    c = http.client.HTTPConnection("127.0.0.1", int(os.environ["D"]), timeout=120)
    c.request("POST", "/v1/completions", body=json.dumps({
        "model": "stories260K", "prompt": "Once upon a time",
        "max_tokens": 6, "temperature": 0, "stream": True}))
    r = c.getresponse()
    d = r.read().decode()
    c.close()
    return r.status == 200 and d.rstrip().endswith("data: [DONE]")

ok = stream()    # warm up: the peers are found once
t = time.monotonic()
for i in range(8):
    ok = stream() and ok
seq = time.monotonic() - t
res = []
ths = [threading.Thread(target=lambda: res.append(stream())) for i in range(8)]
t = time.monotonic()
for th in ths:
    th.start()
for th in ths:
    th.join()
conc = time.monotonic() - t
ok = ok and len(res) == 8 and all(res)
print("  sequential %.2f s, concurrent %.2f s (%.2f)" % (seq, conc, conc / seq),
      file=sys.stderr)
# each node takes one step at a time, so two nodes overlap by at most 2x
sys.exit(0 if ok and conc < 0.75 * seq else 1)
PYEOF
# node status with no node there: says so and how to start one (not a raw
# transport error); --wait keeps asking for as long as it is told.
t0=$(date +%s)
expect node-status-none 1 "$SWARM" node status --wait 1 127.0.0.1:1
check node-status-none-says sh -c 'printf "%s\n" "$1" | grep -q \
    "no node answers at 127.0.0.1:1 .*; start one with .swarm node join"' _ "$err"
check node-status-waited [ $(( $(date +%s) - t0 )) -ge 1 ]
exit $cli_failed
