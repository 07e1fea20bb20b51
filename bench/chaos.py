#!/usr/bin/env python3
"""Chaos: six nodes (three spans, two replicas each) behind `swarm serve`,
greedy requests several at a time, while every few seconds a random node is
killed (-9, and restarted on its port a moment later), stopped (-STOP, then
-CONT) or restarted (SIGTERM, then started again). Every answer is compared
with the same prompt's answer before any fault. Prints how many completed,
how many were identical, the slowest request, and the failovers and replays
that serve logged. Exits 1 when any request failed or differed, or took
longer than --bound seconds. Not part of `make test` (it takes minutes).

  python3 bench/chaos.py [--model M.gguf] [--requests 200] [--concurrency 4]
      [--interval 2] [--max-tokens 48] [--bound 60] [--seed 1]

Everything listens on 127.0.0.1 at ports chosen at run time, and every
process it starts is stopped when it ends.
"""
import argparse, http.client, json, os, random, re, signal, subprocess
import sys, tempfile, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--model", default=os.path.join(
    os.environ.get("SWARM_TEST_MODELS", "../shared/models"), "stories260K.gguf"))
ap.add_argument("--swarm", default=os.environ.get("SWARM_BIN", "./swarm"))
ap.add_argument("--requests", type=int, default=200)
ap.add_argument("--concurrency", type=int, default=4)
ap.add_argument("--interval", type=float, default=2.0)
ap.add_argument("--max-tokens", type=int, default=48)
ap.add_argument("--bound", type=float, default=60.0)
ap.add_argument("--seed", type=int, default=1)
args = ap.parse_args()
rng = random.Random(args.seed)
home = tempfile.mkdtemp()
env = dict(os.environ, SWARM_HOME=home, NO_COLOR="1",
           SWARM_TEST_STEP_DELAY_MS="2")
procs = []


def wait_file(path, secs=30):
    t = time.time() + secs
    while time.time() < t:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return open(path).read().strip()
        time.sleep(0.05)
    raise SystemExit("chaos: %s never appeared" % path)


class Node:
    def __init__(self, i, span):
        self.i, self.span, self.port, self.proc = i, span, 0, None

    def start(self):
        pf = os.path.join(home, "n%d.port" % self.i)
        if os.path.exists(pf):
            os.unlink(pf)
        listen = "127.0.0.1:%d" % self.port
        self.proc = subprocess.Popen(
            [args.swarm, "node", "join", "-m", args.model, "--blocks",
             self.span, "--listen", listen, "--port-file", pf,
             "--threads", "1"], env=env, stderr=subprocess.DEVNULL)
        procs.append(self.proc)
        self.port = int(wait_file(pf))


out = subprocess.run([args.swarm, "shard", "info", args.model],
                     capture_output=True, text=True, env=env).stdout
n_layer = int(re.search(r"^blocks\s+(\d+)", out, re.M).group(1))
b1, b2 = n_layer // 3, 2 * n_layer // 3
spans = ["0:%d" % b1, "%d:%d" % (b1, b2), "%d:%d" % (b2, n_layer)]
nodes = [Node(i, spans[i // 2]) for i in range(6)]
for n in nodes:
    n.start()
pf = os.path.join(home, "serve.port")
serve_log = open(os.path.join(home, "serve.log"), "w")
cmd = [args.swarm, "serve", "-m", args.model, "--listen", "127.0.0.1:0",
       "--port-file", pf, "--threads", "1", "-v",
       "--max-concurrent", str(args.concurrency * 2)]
for n in nodes:
    cmd += ["--peer", "127.0.0.1:%d" % n.port]
serve = subprocess.Popen(cmd, env=env, stderr=serve_log)
procs.append(serve)
port = int(wait_file(pf))

model_name = os.path.basename(args.model)
if model_name.endswith(".gguf"):
    model_name = model_name[:-5]
prompts = ["Once upon a time", "The little dog", "One day, a girl",
           "Tom and Sue", "The sun was", "A big bird", "In the park",
           "Lily wanted"]


def ask(prompt):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=args.bound * 2)
    body = {"model": model_name, "temperature": 0, "max_tokens": args.max_tokens,
            "messages": [{"role": "user", "content": prompt}]}
    t0 = time.time()
    c.request("POST", "/v1/chat/completions", body=json.dumps(body))
    r = c.getresponse()
    d = r.read().decode()
    c.close()
    if r.status != 200:
        return None, time.time() - t0, "HTTP %d: %s" % (r.status, d[:200])
    return (json.loads(d)["choices"][0]["message"]["content"],
            time.time() - t0, None)


try:
    ref = {}
    for p in prompts:
        text, _, err = ask(p)
        if err:
            raise SystemExit("chaos: the fault-free run failed: " + err)
        ref[p] = text
    stop = threading.Event()
    faults = {"kill": 0, "stop": 0, "restart": 0}

    def chaos():
        while not stop.wait(args.interval):
            n = rng.choice(nodes)
            what = rng.choice(list(faults))
            faults[what] += 1
            if what == "kill":
                n.proc.kill()
                n.proc.wait()
                time.sleep(rng.uniform(0.2, 1.5))
                n.start()
            elif what == "stop":
                n.proc.send_signal(signal.SIGSTOP)
                time.sleep(rng.uniform(0.5, 3.0))
                n.proc.send_signal(signal.SIGCONT)
            else:
                n.proc.terminate()
                try:
                    n.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    n.proc.kill()
                    n.proc.wait()
                n.start()

    results = []
    lock = threading.Lock()
    todo = list(range(args.requests))

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                k = todo.pop()
            p = prompts[k % len(prompts)]
            try:
                text, secs, err = ask(p)
            except Exception as e:
                text, secs, err = None, args.bound * 2, repr(e)
            with lock:
                results.append((p, text, secs, err))

    t0 = time.time()
    ct = threading.Thread(target=chaos)
    ct.start()
    ws = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    for w in ws:
        w.start()
    for w in ws:
        w.join()
    stop.set()
    ct.join()
    wall = time.time() - t0
finally:
    for p in procs:
        try:
            p.send_signal(signal.SIGCONT)
            p.kill()
            p.wait()
        except Exception:
            pass
    serve_log.close()

log = open(os.path.join(home, "serve.log")).read()
done = [r for r in results if r[3] is None]
same = [r for r in done if r[1] == ref[r[0]]]
secs = sorted(r[2] for r in results)
print("chaos: %s, %d blocks as 3 spans x 2 nodes, %d requests, %d at a time, "
      "a fault every %.1f s (seed %d)" % (os.path.basename(args.model),
      n_layer, args.requests, args.concurrency, args.interval, args.seed))
print("faults: %d kill -9 and restart, %d stop/cont, %d restart; %.0f s in all"
      % (faults["kill"], faults["stop"], faults["restart"], wall))
print("completed: %d of %d; identical to the fault-free text: %d"
      % (len(done), len(results), len(same)))
print("request seconds: median %.2f, slowest %.2f (bound %.0f)"
      % (secs[len(secs) // 2], secs[-1], args.bound))
print("serve logged: %d peers refused, %d chains replayed, %d sessions "
      "reopened" % (log.count(" refused for "), log.count("replayed"),
                    log.count("reopening")))
for r in results:
    if r[3] is not None:
        print("  failed: %r: %s" % (r[0], r[3]))
    elif r[1] != ref[r[0]]:
        print("  differs: %r" % r[0])
ok = len(same) == len(results) == args.requests and secs[-1] <= args.bound
subprocess.run(["rm", "-rf", home])
sys.exit(0 if ok else 1)
