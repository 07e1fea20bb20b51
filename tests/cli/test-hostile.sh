# Hostile input: requests an attacker would send to `swarm serve` and to a
# node, each a regression test for a crash or an exhaustion found by hand.
. tests/cli/lib.sh
M=$MODELS/stories260K.gguf

wait_file() {
	i=0
	while [ ! -s "$1" ]; do
		i=$((i + 1))
		[ $i -gt 200 ] && return 1
		sleep 0.05
	done
	return 0
}

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

exit $cli_failed
