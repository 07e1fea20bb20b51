# Hostile input: requests an attacker would send to `swarm serve` and to a
# node, each a regression test for a crash or an exhaustion found by hand.
. tests/cli/lib.sh
M=$MODELS/stories260K.gguf

# start NAME CMD...: a server on a free port; its port in $port, pid in $pid.
start() {
	st_name=$1
	shift
	rm -f "$SWARM_HOME/$st_name.port"
	"$@" --listen 127.0.0.1:0 --port-file "$SWARM_HOME/$st_name.port" \
	    2>"$SWARM_HOME/$st_name.log" &
	pid=$!
	track $pid
	wait_file "$SWARM_HOME/$st_name.port" || {
		fail "start-$st_name" "$(cat "$SWARM_HOME/$st_name.log")"
		exit 1
	}
	port=$(cat "$SWARM_HOME/$st_name.port")
}

start node "$SWARM" node join -m "$M" --blocks 0:5 --threads 1
NODE=$port
NODE_PID=$pid
start serve "$SWARM" serve -m "$M" --local --threads 1
SERVE=$port
SERVE_PID=$pid
start keyed "$SWARM" serve -m "$M" --local --threads 1 --api-key sekrit
KEYED=$port
KEYED_PID=$pid
export NODE SERVE KEYED

# --- 1. bytes that are not UTF-8 in the path or the method ----------------
# Each answer is a 4xx whose body is valid JSON; the server lives on.
check non-utf8-requests python3 - <<'PYEOF'
import json, os, socket, sys

ok = True
def raw(port, line):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
    d = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        d += b
    s.close()
    return d

for name in ("NODE", "SERVE", "KEYED"):
    port = int(os.environ[name])
    for line in (b"GET /%ff HTTP/1.1", b"GET /\xff HTTP/1.1",
                 b"GET /v1/models/%c3%28 HTTP/1.1",
                 b"GET /v1/models/\xc3\x28 HTTP/1.1",
                 b"G\xe9T /v1/models HTTP/1.1", b"G\xe9T / HTTP/1.1",
                 b"POST /v1/chat/\xed\xa0\x80 HTTP/1.1"):
        d = raw(port, line)
        head, _, body = d.partition(b"\r\n\r\n")
        status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/") else 0
        good = 400 <= status < 500
        if good and body:
            try:
                json.loads(body.decode("utf-8"))
            except Exception as e:
                good = False
        if not good:
            ok = False
            print("  %s %r: %r" % (name, line, d[:300]), file=sys.stderr)
sys.exit(0 if ok else 1)
PYEOF
alive() { kill -0 "$1" 2>/dev/null; }
check node-alive-after-non-utf8 alive "$NODE_PID"
check serve-alive-after-non-utf8 alive "$SERVE_PID"
check keyed-alive-after-non-utf8 alive "$KEYED_PID"
expect node-answers-after 0 curl -sf "http://127.0.0.1:$NODE/info"
expect serve-answers-after 0 curl -sf "http://127.0.0.1:$SERVE/v1/models"

# --- 2. unfinished large bodies are not buffered -----------------------------
# 24 connections announce 60 MiB bodies to a session's step path and 24 to
# a path that does not exist, then send 8 MiB of each; the node is refused
# before it reads them and stays small.
MODEL_ID=$(curl -s "http://127.0.0.1:$NODE/info" | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["record"]["model_id"])')
export MODEL_ID NODE_PID
check large-bodies-not-buffered python3 - <<'PYEOF'
import http.client, json, os, socket, sys, time

port, pid = int(os.environ["NODE"]), os.environ["NODE_PID"]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
c.request("POST", "/sessions", json.dumps({"model_id": os.environ["MODEL_ID"],
          "block_begin": 0, "block_end": 5, "max_length": 64}))
r = c.getresponse()
sid = json.loads(r.read())["session_id"]
c.close()

def rss_mb():
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0

socks = []
for path in ["/sessions/%s/step" % sid] * 24 + ["/nowhere/at/all"] * 24:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-swarm-step\r\n"
               "Content-Length: %d\r\n\r\n" % (path, 60 << 20)).encode())
    s.setblocking(False)
    socks.append([s, 8 << 20])
chunk = b"\0" * (256 << 10)
end = time.time() + 4
while time.time() < end and any(left > 0 for _, left in socks):
    moved = False
    for e in socks:
        if e[1] <= 0:
            continue
        try:
            n = e[0].send(chunk[:min(len(chunk), e[1])])
            e[1] -= n
            moved = True
        except BlockingIOError:
            pass
        except OSError:
            e[1] = 0
    if not moved:
        time.sleep(0.01)
time.sleep(0.3)
rss = rss_mb()
sent = sum((8 << 20) - left for _, left in socks) >> 20
for s, _ in socks:
    s.close()
print("  node RSS %.0f MB with %d MiB sent on 48 connections" % (rss, sent), file=sys.stderr)
sys.exit(0 if 0 < rss < 200 else 1)
PYEOF
check node-alive-after-bodies alive "$NODE_PID"

# --- channels: the upgraded connection is read as carefully ------------------
# 200 channels at once (past the node's 128: refused with 503, the others
# kept), each thread idle; then, on channels: garbage, a step announcing
# 4 GiB, one announcing 60 MiB for a session of 64 positions, fields that
# lie about their length, a frame cut short and left hanging. Each ends its
# channel or is answered; the node stays small and alive and still serves
# a real client on a channel after.
check channels-hostile python3 - <<'PYEOF'
import http.client, json, os, socket, struct, sys, time

port, pid = int(os.environ["NODE"]), os.environ["NODE_PID"]
UP = (b"GET /channel HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
      b"Upgrade: swarm-channel/1\r\n\r\n")

def rss_mb():
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0

def upgrade():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(UP)
    d = b""
    while b"\r\n\r\n" not in d:
        b = s.recv(4096)
        if not b:
            break
        d += b
    return s, int(d.split(b" ")[1]) if d.startswith(b"HTTP/") else 0

def frame(fields, body_len, kind=1, status=0, lie=0):
    f = b"".join(struct.pack("<H", len(x)) + x for x in fields)
    return b"SWCH" + struct.pack("<HHII", kind, status, len(f) + lie,
                                 body_len) + f

def answer(s):
    """The answer frame's status, 'closed' when the node ended the channel."""
    d = b""
    try:
        while len(d) < 16:
            b = s.recv(65536)
            if not b:
                return "closed"
            d += b
    except socket.timeout:
        return "timeout"
    return struct.unpack("<H", d[6:8])[0]

c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
c.request("POST", "/sessions", json.dumps({"model_id": os.environ["MODEL_ID"],
          "block_begin": 0, "block_end": 5, "max_length": 64}))
sid = json.loads(c.getresponse().read())["session_id"]
c.close()
step = ("/sessions/%s/step" % sid).encode()

ok = True
socks, codes = [], {}
for i in range(200):
    s, code = upgrade()
    codes[code] = codes.get(code, 0) + 1
    socks.append(s)
if codes.get(101, 0) != 128 or codes.get(503, 0) != 72:
    print("  200 upgrades: %r" % codes, file=sys.stderr)
    ok = False
rss_many = rss_mb()
for s in socks:
    s.close()
time.sleep(0.5)

cases = [
    ("garbage", b"GARBAGE GARBAGE GARBAGE!", "closed"),
    ("4 GiB body", frame([b"POST", step], 0xffffffff), 413),
    ("60 MiB body", frame([b"POST", step], 60 << 20) + b"\0" * 4096, 413),
    ("fields lie", frame([b"POST", step], 0, lie=100) + b"x" * 100, "closed"),
    ("header name with colon", frame([b"POST", step, b"a:b", b"c"], 0),
     "closed"),
    ("an answer sent to the node", frame([b""], 0, kind=2, status=200),
     "closed"),
    ("not a channel path", frame([b"GET", b"/info"], 0), 404),
]
for name, data, want in cases:
    s, code = upgrade()
    if code != 101:
        print("  %s: upgrade %r" % (name, code), file=sys.stderr)
        ok = False
        continue
    s.sendall(data)
    got = answer(s)
    s.close()
    if got != want:
        print("  %s: got %r, want %r" % (name, got, want), file=sys.stderr)
        ok = False
# A frame cut short and left hanging: ends within the node's frame time.
s, code = upgrade()
s.sendall(frame([b"POST", step], 100)[:10])
s.settimeout(15)
got = answer(s)
s.close()
if got != "closed":
    print("  a cut frame: %r" % (got,), file=sys.stderr)
    ok = False
rss = rss_mb()
print("  node RSS %.0f MB with 128 channels, %.0f MB after" % (rss_many, rss),
      file=sys.stderr)
sys.exit(0 if ok and 0 < rss_many < 300 and rss < 200 else 1)
PYEOF
check node-alive-after-channels alive "$NODE_PID"
expect channel-client-after 0 "$SWARM" infer run -m "$M" --temp 0 -n 5 \
    --peer "127.0.0.1:$NODE" --no-push
check channel-client-on-channel [ "$(curl -s "127.0.0.1:$NODE/status" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["channels"]["steps"])')" -ge 5 ]

# --- 3. a thousand half-open connections lock nobody out -----------------------
# 1,000 sockets to serve and 1,000 to the node send part of their headers
# and stay open; a normal request to each is answered within a second.
check half-open-sockets python3 - <<'PYEOF'
import os, resource, socket, sys, time, urllib.request

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
ok = True
held = []
for name, path in (("NODE", "/info"), ("SERVE", "/v1/models")):
    port = int(os.environ[name])
    for i in range(1000):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /info HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        held.append(s)
    time.sleep(0.2)
    t0 = time.time()
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=1) as r:
            good = r.status == 200
    except Exception as e:
        print("  %s: %r" % (name, e), file=sys.stderr)
        good = False
    dt = time.time() - t0
    print("  %s answered in %.3f s with 1000 half-open sockets" % (name, dt), file=sys.stderr)
    ok = ok and good and dt < 1
for s in held:
    s.close()
sys.exit(0 if ok else 1)
PYEOF
check node-alive-after-half-open alive "$NODE_PID"
check serve-alive-after-half-open alive "$SERVE_PID"

# --- 10. two Content-Length headers --------------------------------------------
check two-content-lengths python3 - <<'PYEOF'
import os, socket, sys

ok = True
for name, path in (("NODE", "/info"), ("SERVE", "/v1/models")):
    s = socket.create_connection(("127.0.0.1", int(os.environ[name])), timeout=10)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
               "Content-Length: 0\r\nContent-Length: 7\r\n\r\n" % path).encode())
    d = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        d += b
    s.close()
    if not d.startswith(b"HTTP/1.1 400"):
        ok = False
        print("  %s: %r" % (name, d[:200]), file=sys.stderr)
sys.exit(0 if ok else 1)
PYEOF

# --- 4. the DHT listens where the node was told, and nowhere else --------
start dht "$SWARM" node join -m "$M" --blocks 0:5 --threads 1 --new-swarm
DHT_PORT=$port
export DHT_PORT
check dht-bound-to-listen-host python3 - <<'PYEOF'
import os, sys
port = int(os.environ["DHT_PORT"])
found = []
for name in ("/proc/net/udp", "/proc/net/udp6"):
    try:
        lines = open(name).read().splitlines()[1:]
    except OSError:
        continue
    for l in lines:
        local = l.split()[1]
        addr, p = local.split(":")
        if int(p, 16) == port:
            found.append((name, addr))
ok = found == [("/proc/net/udp", "0100007F")]
if not ok:
    print("  udp sockets on port %d: %r" % (port, found), file=sys.stderr)
sys.exit(0 if ok else 1)
PYEOF

# --- 5. sessions belong to a client: unsigned ones cannot take them all ---
# Twenty unsigned opens get the unsigned allowance (8 of 16), a signed
# client still gets its own; a bad signature is refused; sessions kept
# alive only by steps that compute nothing are freed at the timeout.
start sess "$SWARM" node join -m "$M" --blocks 0:5 --threads 1 \
    --session-timeout 2
SESS=$port
export SESS
check unsigned-sessions-capped python3 - <<'PYEOF'
import http.client, json, os, sys
port = int(os.environ["SESS"])
def post(path, body, ctype="application/json"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", path, body, {"Content-Type": ctype})
    r = c.getresponse()
    d = r.read()
    c.close()
    return r.status, d
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
c.request("GET", "/info")
mid = json.loads(c.getresponse().read())["record"]["model_id"]
c.close()
open_body = json.dumps({"model_id": mid, "block_begin": 0, "block_end": 5,
                        "max_length": 32})
got = [post("/sessions", open_body) for _ in range(20)]
ok = [json.loads(d)["session_id"] for s, d in got if s == 200]
refused = [json.loads(d)["error"]["code"] for s, d in got if s != 200]
good = len(ok) == 8 and refused == ["client_limit"] * 12
bad = json.loads(open_body)
bad.update(client_key="00" * 32, timestamp=__import__("time").time().__int__(),
           signature="00" * 64)
s, d = post("/sessions", json.dumps(bad))
good = good and s == 401
with open(os.environ["SWARM_HOME"] + "/sessions", "w") as f:
    f.write(" ".join(ok))
if not good:
    print("  opens: %r; refused: %r; bad signature: %d %r" % (len(ok), refused, s, d),
          file=sys.stderr)
sys.exit(0 if good else 1)
PYEOF
expect signed-client-served 0 "$SWARM" infer run -m "$M" --temp 0 -n 5 \
    --peer "127.0.0.1:$SESS"
check idle-not-renewed-by-junk python3 - <<'PYEOF'
import http.client, json, os, sys, time
port = int(os.environ["SESS"])
ids = open(os.environ["SWARM_HOME"] + "/sessions").read().split()
def post(path, body, ctype):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", path, body, {"Content-Type": ctype})
    r = c.getresponse()
    r.read()
    c.close()
    return r.status
end = time.time() + 4.5
codes = set()
while time.time() < end:
    for i in ids:
        codes.add(post("/sessions/%s/step" % i, b"junk" * 16,
                       "application/x-swarm-step"))
    time.sleep(0.5)
last = [post("/sessions/%s/step" % i, b"junk" * 16, "application/x-swarm-step")
        for i in ids]
ok = last == [404] * len(ids)
if not ok:
    print("  after 4.5 s of junk steps: %r (seen %r)" % (last, codes), file=sys.stderr)
sys.exit(0 if ok else 1)
PYEOF

exit $cli_failed
