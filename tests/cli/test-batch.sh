# Batched decoding in `swarm serve --local`: eight different prompts sent
# at once are evaluated together (the batch metrics show several requests
# in one pass) and each greedy answer is byte-identical to the same prompt
# sent alone, and to a server with batching off; on a quantized model
# (rows of different requests share one product) and on stories260K (F32:
# each request's rows are a product of their own).
. tests/cli/lib.sh

# start_serve NAME MODEL [ARGS...]: a server on a free port, in $port.
start_serve() {
	ss_name=$1
	ss_model=$2
	shift 2
	rm -f "$SWARM_HOME/$ss_name.port"
	"$SWARM" serve -m "$ss_model" --local --listen 127.0.0.1:0 \
	    --port-file "$SWARM_HOME/$ss_name.port" --threads 2 --model-name m "$@" \
	    2>"$SWARM_HOME/$ss_name.log" &
	track $!
	wait_file "$SWARM_HOME/$ss_name.port" || {
		fail "start-$ss_name" "$(cat "$SWARM_HOME/$ss_name.log")"
		exit 1
	}
	port=$(cat "$SWARM_HOME/$ss_name.port")
}

for stem in synth/synth-llama-Q4_0 stories260K; do
	name=$(basename "$stem")
	start_serve "$name-batch" "$MODELS/$stem.gguf"
	B=$port
	SWARM_SERVE_BATCH=false start_serve "$name-turns" "$MODELS/$stem.gguf"
	T=$port
	# stories260K's steps take microseconds: longer answers, so that the
	# eight requests are in flight together (with 40 tokens a loaded
	# machine saw at most three in one pass)
	N=40
	[ "$name" = stories260K ] && N=200
	export B T N
	check "batch-identical-$name" python3 - <<'PYEOF'
import http.client, json, os, re, sys, threading

B, T, N = int(os.environ["B"]), int(os.environ["T"]), int(os.environ["N"])
prompts = ["Once upon a time", "The little dog", "One day a girl",
           "Tom and Sue went", "The sun was hot", "A big red ball",
           "She liked to sing", "In the park there"]

def complete(port, prompt, n=N, start=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    if start is not None:
        c.connect()
        start.wait()
    c.request("POST", "/v1/completions", json.dumps({
        "model": "m", "prompt": prompt, "max_tokens": n,
        "temperature": 0}), {"Content-Type": "application/json"})
    r = c.getresponse()
    d = json.loads(r.read())
    c.close()
    assert r.status == 200, d
    return d["choices"][0]["text"]

def metric(port, name):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/metrics")
    body = c.getresponse().read().decode()
    c.close()
    m = re.search(r"^%s (\d+)" % name, body, re.M)
    return int(m.group(1)) if m else None

alone = [complete(B, p) for p in prompts]
turns = [complete(T, p) for p in prompts]
together = [None] * len(prompts)
# connected first, then all sent at once
start = threading.Barrier(len(prompts))
def worker(i):
    together[i] = complete(B, prompts[i], start=start)
threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(prompts))]
for t in threads:
    t.start()
for t in threads:
    t.join()
ok = True
for i, p in enumerate(prompts):
    if together[i] != alone[i] or alone[i] != turns[i]:
        ok = False
        print("  %r: together %r, alone %r, batching off %r" %
              (p, together[i], alone[i], turns[i]))
most = metric(B, "swarm_serve_batch_sessions_max")
if most is None or most < 4:
    ok = False
    print("  at most %s requests in one pass" % most)
if metric(T, "swarm_serve_batch_steps_total") is not None:
    ok = False
    print("  batching off still batches")
if len(set(alone)) < 4:
    ok = False
    print("  the prompts gave too few different answers: %r" % alone)
sys.exit(0 if ok else 1)
PYEOF
done

# --- nodes batch the steps of sessions from different clients -------------
M=$MODELS/synth/synth-llama-Q4_0.gguf
# start_node NAME BLOCKS: a node of $M, two threads (lib.sh's node_start).
start_node() {
	node_start "$1" -m "$M" --blocks "$2" --threads 2 || exit 1
}
start_node n1 0:2
N1=$port
start_node n2 2:4
N2=$port
rm -f "$SWARM_HOME/s.port"
"$SWARM" serve -m "$M" --peer 127.0.0.1:$N1 --peer 127.0.0.1:$N2 \
    --listen 127.0.0.1:0 --port-file "$SWARM_HOME/s.port" --threads 1 \
    --model-name m 2>"$SWARM_HOME/s.log" &
track $!
wait_file "$SWARM_HOME/s.port" || { fail start-s "$(cat "$SWARM_HOME/s.log")"; exit 1; }
S=$(cat "$SWARM_HOME/s.port")
B=$(cat "$SWARM_HOME/synth-llama-Q4_0-batch.port")
export S B N1 N2
check batch-nodes-identical python3 - <<'PYEOF'
import http.client, json, os, sys, threading

S, B = int(os.environ["S"]), int(os.environ["B"])
nodes = [int(os.environ["N1"]), int(os.environ["N2"])]
prompts = ["Once upon a time", "The little dog", "One day a girl",
           "Tom and Sue went", "The sun was hot", "A big red ball",
           "She liked to sing", "In the park there"]

def complete(port, prompt, n=40, start=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    if start is not None:
        c.connect()
        start.wait()
    c.request("POST", "/v1/completions", json.dumps({
        "model": "m", "prompt": prompt, "max_tokens": n,
        "temperature": 0}), {"Content-Type": "application/json"})
    r = c.getresponse()
    d = json.loads(r.read())
    c.close()
    assert r.status == 200, d
    return d["choices"][0]["text"]

def most(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/info")
    d = json.loads(c.getresponse().read())
    c.close()
    return d["status"].get("batch", {}).get("max_sessions", 0)

local = [complete(B, p) for p in prompts]
together = [None] * len(prompts)
start = threading.Barrier(len(prompts))
def worker(i):
    together[i] = complete(S, prompts[i], start=start)
threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(prompts))]
for t in threads:
    t.start()
for t in threads:
    t.join()
ok = True
for i, p in enumerate(prompts):
    if together[i] != local[i]:
        ok = False
        print("  %r: through the nodes %r, local %r" % (p, together[i], local[i]))
m = [most(n) for n in nodes]
if min(m) < 2:
    ok = False
    print("  the most sessions in one pass per node: %r" % m)
sys.exit(0 if ok else 1)
PYEOF
exit $cli_failed
