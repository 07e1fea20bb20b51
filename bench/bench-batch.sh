#!/bin/sh
# Concurrent clients against `swarm serve`: aggregate generated tokens/s
# for 1 client and for 8 at once (distinct prompts, greedy, BENCH_TOKENS
# each), --local with batching on and off, through three nodes on this
# machine (each batching its steps; BENCH_SWARM=0 skips it), and
# llama-server with -np 8 on the same file and threads when LLAMA_SERVER
# names one (else skipped, said so). Rounds interleave the servers;
# medians are printed.
#
#   bench/bench-batch.sh [MODEL.gguf]    (default: the 1.1B shape in Q4_0)
#   BENCH_THREADS=2 BENCH_REPS=3 BENCH_TOKENS=64 BENCH_CLIENTS=8
BENCH_NAME=bench-batch
. bench/lib.sh
THREADS=${BENCH_THREADS:-2}
CLIENTS=${BENCH_CLIENTS:-8}

# serve NAME ARGS...: a server in the background, its port in $tmp/NAME.port
start_swarm() {
	name=$1
	shift
	env "$@" "$SWARM" serve -m "$M" --local --listen 127.0.0.1:0 \
	    --port-file "$tmp/$name.port" --threads "$THREADS" \
	    --model-name m 2>"$tmp/$name.log" &
	pids="$pids $!"
}
start_swarm batch SWARM_SERVE_BATCH=true
start_swarm turns SWARM_SERVE_BATCH=false
servers="batch turns"
if [ "${BENCH_SWARM:-1}" != 0 ]; then
	peers=
	i=0
	for span in 0:$b1 $b1:$b2 $b2:$n_layer; do
		i=$((i + 1))
		"$SWARM" node join -m "$M" --blocks "$span" --listen 127.0.0.1:0 \
		    --port-file "$tmp/node$i.port" --threads "$THREADS" \
		    2>"$tmp/node$i.log" &
		pids="$pids $!"
		while [ ! -s "$tmp/node$i.port" ]; do sleep 0.2; done
		peers="$peers --peer 127.0.0.1:$(cat "$tmp/node$i.port")"
	done
	# shellcheck disable=SC2086
	"$SWARM" serve -m "$M" $peers --listen 127.0.0.1:0 \
	    --port-file "$tmp/swarm3.port" --threads "$THREADS" \
	    --model-name m 2>"$tmp/swarm3.log" &
	pids="$pids $!"
	servers="$servers swarm3"
fi
if [ -n "$LLAMA_SERVER" ] && [ -x "$LLAMA_SERVER" ]; then
	lport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$LLAMA_SERVER" -m "$M" -t "$THREADS" -np "$CLIENTS" -c $((CLIENTS * 512)) \
	    --host 127.0.0.1 --port "$lport" >"$tmp/llama.log" 2>&1 &
	pids="$pids $!"
	echo "$lport" >"$tmp/llama.port.wait"
	servers="$servers llama"
else
	echo "llama-server: skipped (set LLAMA_SERVER to a llama-server binary)"
fi

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "model: $M; threads $THREADS; $TOKENS tokens a request; $REPS rounds"
TMP=$tmp SERVERS=$servers CLIENTS=$CLIENTS TOKENS=$TOKENS REPS=$REPS \
    python3 - <<'PYEOF'
import http.client, json, os, statistics, sys, threading, time

tmp, servers = os.environ["TMP"], os.environ["SERVERS"].split()
clients, tokens, reps = (int(os.environ[k]) for k in ("CLIENTS", "TOKENS", "REPS"))
ports = {}
deadline = time.time() + 300
for s in servers:
    f = os.path.join(tmp, s + (".port.wait" if s == "llama" else ".port"))
    while True:
        try:
            ports[s] = int(open(f).read())
            break
        except (OSError, ValueError):
            if time.time() > deadline:
                sys.exit("bench-batch: %s did not start" % s)
            time.sleep(0.2)

prompts = ["Once upon a time %d" % i for i in range(clients)]

def complete(port, prompt):
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            c.request("POST", "/v1/completions", json.dumps({
                "model": "m", "prompt": prompt, "max_tokens": tokens,
                "temperature": 0, "ignore_eos": True}),
                {"Content-Type": "application/json"})
            r = c.getresponse()
            d = json.loads(r.read())
            c.close()
        except (ConnectionError, OSError):
            time.sleep(0.5)      # llama-server still loading
            continue
        if r.status == 503:
            time.sleep(0.5)
            continue
        if r.status != 200:
            sys.exit("bench-batch: %d %s" % (r.status, d))
        return d["usage"]["completion_tokens"]

def run(port, n):
    got = [0] * n
    def w(i):
        got[i] = complete(port, prompts[i])
    ts = [threading.Thread(target=w, args=(i,)) for i in range(n)]
    t0 = time.time()
    for t in ts: t.start()
    for t in ts: t.join()
    return sum(got) / (time.time() - t0)

for s in servers:                   # warm up: pages in, threads up
    run(ports[s], 1)
res = {(s, n): [] for s in servers for n in (1, clients)}
for r in range(reps):
    for s in servers:
        for n in (1, clients):
            res[(s, n)].append(run(ports[s], n))
print("%-8s %12s %14s %8s" % ("server", "1 client t/s", "%d clients t/s" % clients, "ratio"))
med = {}
for s in servers:
    one, many = (statistics.median(res[(s, n)]) for n in (1, clients))
    med[s] = many
    print("%-8s %12.1f %14.1f %7.2fx" % (s, one, many, many / one))
if "llama" in med:
    print("swarm batch / llama-server -np %d: %.2fx" % (clients, med["batch"] / med["llama"]))
print("batching on / off with %d clients: %.2fx" % (clients, med["batch"] / med["turns"]))
PYEOF
