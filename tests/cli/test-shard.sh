# The shard store and swarm shard pull: a span pulled from a real HTTP
# server (lighttpd, its access log counting the bytes), nodes serving from
# the store with logits identical to the whole file, the golden text
# through three nodes that each pulled their span, a pull from three
# seeding peers with one serving corrupt bytes, a pull killed with kill -9
# and resumed, a store too small for the span.
. tests/cli/lib.sh
M=$MODELS/stories260K.gguf
Q=$MODELS/synth/synth-llama-untied-Q8_0.gguf
GOLDEN=$MODELS/golden/stories260K_run_t0_n200.expected.txt
W=$SWARM_HOME/www
mkdir -p "$W"
cp "$M" "$W/stories.gguf"
cp "$Q" "$W/q8.gguf"
cp "$MODELS/synth/synth-llama-F32.gguf" "$W/f32.gguf"
mounted=""
shard_cleanup() {
	[ -n "$mounted" ] && umount "$mounted"
	cli_cleanup
}
trap shard_cleanup EXIT INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_origin [KBPS]: lighttpd serving $W on a port free at the first
# start and the same one after (a pull of the same URL is the same pull),
# its access log in $W/access.log ("request status bytes"); $ORIGIN is its
# base URL.
start_origin() {
	lport=${lport:-$(free_port)}
	{
		echo "server.document-root = \"$W\""
		echo "server.port = $lport"
		echo "server.bind = \"127.0.0.1\""
		echo "server.modules = ( \"mod_accesslog\" )"
		echo "accesslog.filename = \"$SWARM_HOME/access.log\""
		echo "accesslog.format = \"%r %>s %b\""
		echo "server.errorlog = \"$SWARM_HOME/lighttpd.err\""
		[ -n "$1" ] && echo "connection.kbytes-per-second = $1"
	} >"$SWARM_HOME/lighttpd.conf"
	rm -f "$SWARM_HOME/access.log"
	lighttpd -D -f "$SWARM_HOME/lighttpd.conf" &
	lpid=$!
	track $lpid
	ORIGIN=http://127.0.0.1:$lport
	i=0
	until curl -s -o /dev/null -r 0-0 "$ORIGIN/q8.gguf"; do
		i=$((i + 1)); [ $i -gt 100 ] && return 1; sleep 0.05
	done
}

# stop_origin: stops lighttpd, which writes its access log; sets $logged
# to the body bytes it sent in all (the 1-byte probe of start_origin too).
stop_origin() {
	kill "$lpid"; wait "$lpid" 2>/dev/null
	logged=$(awk '{ s += $NF } END { print s + 0 }' "$SWARM_HOME/access.log")
}

# start_node NAME HOME MODEL BLOCKS [ARGS...]: a node with its own
# SWARM_HOME (lib.sh's node_start).
start_node() {
	sn_name=$1 sn_home=$2 sn_model=$3 sn_blocks=$4
	shift 4
	node_env="SWARM_HOME=$sn_home"
	node_start "$sn_name" -m "$sn_model" --blocks "$sn_blocks" \
	    --threads 1 "$@"
	sn_rc=$?
	node_env=
	return $sn_rc
}

json_get() {
	python3 -c "import json,sys; print(json.load(sys.stdin)$1)"
}

if ! command -v lighttpd >/dev/null; then
	fail lighttpd "lighttpd is not installed (make deps)"
	exit 1
fi

# --- a span from the origin, and nothing more -------------------------------
start_origin
expect pull-span 0 "$SWARM" shard pull "$ORIGIN/q8.gguf" --blocks 2:4 --json
QID=$(echo "$out" | json_get '["id"]')
wanted=$(echo "$out" | json_get '["bytes_wanted"]')
stop_origin
# the header comes in one read of at least 64 KiB: that is the slack
check pull-span-bytes [ "$logged" -ge "$wanted" -a "$logged" -le \
    $((wanted + 65536)) ]
expect list-json 0 "$SWARM" shard list --json
check list-span [ "$(echo "$out" | json_get '[0]["held"]')" = "['2:4']" ]
check list-no-head [ "$(echo "$out" | json_get '[0]["head"]')" = False ]

# the stored span loads, and nodes on it answer as nodes on the whole file
# (the nodes on the file have a data directory of their own: they add the
# file to their store). A span pulled from the origin alone carries a
# provisional id: the client's store holds the head under the same one.
check provisional-id sh -c 'echo "$1" | grep -Eq -- "-[0-9a-f]{12}$"' _ "$QID"
start_origin
mkdir -p "$SWARM_HOME/hq"
SWARM_HOME=$SWARM_HOME/hq "$SWARM" shard pull "$ORIGIN/q8.gguf" \
    --blocks 0:2 --head >/dev/null 2>&1 || fail pull-hq
stop_origin
mkdir -p "$SWARM_HOME/hfile"
start_node fa "$SWARM_HOME/hfile" "$Q" 0:2
start_node fb "$SWARM_HOME/hfile" "$Q" 2:4
start_node sa "$SWARM_HOME/hq" "$QID" 0:2
start_node sb "$SWARM_HOME" "$QID" 2:4
expect logits-file 0 "$SWARM" infer run -m "$Q" --peer 127.0.0.1:$port_fa \
    --peer 127.0.0.1:$port_fb --tokens 1,260,290 -n 4 --temp 0 \
    --dump-logits "$SWARM_HOME/file.f32"
expect logits-store 0 env SWARM_HOME=$SWARM_HOME/hq "$SWARM" infer run \
    -m "$QID" --peer 127.0.0.1:$port_sa --peer 127.0.0.1:$port_sb \
    --tokens 1,260,290 -n 4 --temp 0 --dump-logits "$SWARM_HOME/store.f32"
check logits-identical cmp -s "$SWARM_HOME/file.f32" "$SWARM_HOME/store.f32"
# the whole file's id commits to its bytes: hashed once, then cached
mkdir -p "$SWARM_HOME/hid"
FID=$(SWARM_HOME=$SWARM_HOME/hid "$SWARM" shard add "$Q")
check committed-id sh -c 'echo "$1" | grep -Eq -- "-[0-9a-f]{32}$"' _ "$FID"
check ids-differ [ "$FID" != "$QID" ]
check node-file-id grep -q "weights hashed in .* serving as $FID" \
    "$SWARM_HOME/fa.log" "$SWARM_HOME/fb.log"
# every piece pulled from the origin: the store moves the model to the id
# committed to its bytes, the one `shard add` gives; the same pull again
# finds it there and fetches nothing
start_origin
mkdir -p "$SWARM_HOME/hall"
expect pull-all-origin 0 env SWARM_HOME=$SWARM_HOME/hall "$SWARM" shard pull \
    "$ORIGIN/q8.gguf" --blocks all --head --json
check pull-all-committed [ "$(echo "$out" | json_get '["id"]')" = "$FID" ]
check pull-all-said sh -c 'echo "$1" | grep -q "is now .$2., the id committed"' \
    _ "$err" "$FID"
expect pull-all-again 0 env SWARM_HOME=$SWARM_HOME/hall "$SWARM" shard pull \
    "$ORIGIN/q8.gguf" --blocks all --head --json
check pull-all-again-nothing [ "$(echo "$out" | json_get '["bytes_fetched"]')" = 0 ]
check pull-all-again-id [ "$(echo "$out" | json_get '["id"]')" = "$FID" ]
stop_origin
check pull-all-stored cmp -s "$Q" "$SWARM_HOME/hall/shards/$FID/model.gguf"
expect pull-all-list 0 env SWARM_HOME=$SWARM_HOME/hall "$SWARM" shard list --json
check pull-all-listed [ "$(echo "$out" | json_get '[0]["id"]')" = "$FID" ]
check pull-all-one [ "$(echo "$out" | json_get '.__len__()')" = 1 ]
expect pull-all-verify 0 env SWARM_HOME=$SWARM_HOME/hall "$SWARM" shard verify
expect pull-all-rm 0 env SWARM_HOME=$SWARM_HOME/hall "$SWARM" shard rm "$FID"
check pull-all-rm-gone [ ! -e "$SWARM_HOME/hall/shards/$FID" ]
# a node serving a whole file hashes it into its store and seeds it
i=0
while :; do
	rm -rf "$SWARM_HOME/hwhole"
	mkdir -p "$SWARM_HOME/hwhole"
	out=$(SWARM_HOME=$SWARM_HOME/hwhole "$SWARM" shard pull "$FID" \
	    --blocks all --head --peer 127.0.0.1:$port_fa --json 2>/dev/null) &&
	    break
	i=$((i + 1)); [ $i -ge 50 ] && break
	sleep 0.1
done
check whole-file-seeded cmp -s "$Q" "$SWARM_HOME/hwhole/shards/$FID/model.gguf"
# a second node on the unchanged file does not hash it again
start_node fc "$SWARM_HOME/hfile" "$Q" 0:1
check node-cached sh -c '! grep -q "weights hashed" "$1" &&
    grep -q "model $2" "$1"' _ "$SWARM_HOME/fc.log" "$FID"
kill "$pid_fc" "$pid_sa"
wait "$pid_fc" "$pid_sa" 2>/dev/null
expect missing-block 1 timeout 20 "$SWARM" node join -m "$QID" --blocks 1:3 \
    --listen 127.0.0.1:0
check missing-block-named sh -c 'echo "$1" | grep -q "block 1 of .* is not in the store; fetch it with .swarm shard pull"' _ "$err"
expect missing-head 1 "$SWARM" infer run -m "$QID" --local -n 1
expect verify-clean 0 "$SWARM" shard verify --json
# no piece is dropped under a node that serves it
expect rm-served 1 "$SWARM" shard rm "$QID" --blocks 2:3
check rm-served-said sh -c 'echo "$1" | grep -q "served by a running node"' _ "$err"
kill "$pid_sb"
wait "$pid_sb" 2>/dev/null
expect rm-blocks 0 "$SWARM" shard rm "$QID" --blocks 2:3
expect list-after-rm 0 "$SWARM" shard list --json
check rm-blocks-held [ "$(echo "$out" | json_get '[0]["held"]')" = "['3:4']" ]
expect rm-model 0 "$SWARM" shard rm "$QID"
expect list-empty 0 "$SWARM" shard list --json
check list-empty-doc [ "$out" = "[]" ]

# --- three nodes that each pulled their span: the golden text ---------------
# (the first with node join --pull, straight from the URL)
start_origin
for s in b:2:4 c:4:5; do
	n=${s%%:*}
	mkdir -p "$SWARM_HOME/h$n"
	SWARM_HOME=$SWARM_HOME/h$n "$SWARM" shard pull "$ORIGIN/stories.gguf" \
	    --blocks "${s#*:}" >/dev/null 2>&1 || fail "pull-$n"
done
mkdir -p "$SWARM_HOME/hclient" "$SWARM_HOME/ha"
SWARM_HOME=$SWARM_HOME/hclient "$SWARM" shard pull "$ORIGIN/stories.gguf" \
    --blocks 0:1 --head >/dev/null 2>&1 || fail pull-client
start_node ga "$SWARM_HOME/ha" "$ORIGIN/stories.gguf" 0:2 --pull
# on a terminal, a progress line: bytes, rate, sources, time left
mkdir -p "$SWARM_HOME/hprog"
prog=$(script -qc "env SWARM_HOME=$SWARM_HOME/hprog $SWARM shard pull \
    $ORIGIN/q8.gguf --blocks 0:1" /dev/null | tr '\r' '\n')
check progress-line sh -c 'echo "$1" | grep -q "^.*pulling: 100% (.* MiB), .* MiB/s from 1 source$"' _ "$prog"
check progress-summary sh -c 'echo "$1" | grep -q "bytes wanted, .* fetched in .* from 1 source, 0 pieces retried"' _ "$prog"
stop_origin
SID=$(SWARM_HOME=$SWARM_HOME/hb "$SWARM" shard list --json | json_get '[0]["id"]')
expect join-pull-held 0 env SWARM_HOME=$SWARM_HOME/ha "$SWARM" shard list --json
check join-pull-span [ "$(echo "$out" | json_get '[0]["held"]')" = "['0:2']" ]
start_node gb "$SWARM_HOME/hb" "$SID" 2:4
start_node gc "$SWARM_HOME/hc" "$SID" 4:5
expect golden-from-store 0 env SWARM_HOME=$SWARM_HOME/hclient "$SWARM" infer run \
    -m "$SID" --peer 127.0.0.1:$port_ga --peer 127.0.0.1:$port_gb \
    --peer 127.0.0.1:$port_gc -n 200 --temp 0
check golden-from-store-text [ "$out" = "$(cat "$GOLDEN")" ]

# a peer whose store came from the origin has no whole manifest to offer:
# of what it sends only the header can be checked (against the origin's),
# and the origin sends every tensor
start_origin
mkdir -p "$SWARM_HOME/hfresh"
expect untrusted-peer 0 env SWARM_HOME=$SWARM_HOME/hfresh "$SWARM" shard pull \
    "$SID" --peer 127.0.0.1:$port_gb --origin "$ORIGIN/stories.gguf" \
    --blocks 2:4 --json
stop_origin
check untrusted-peer-unused sh -c 'echo "$1" | python3 -c "
import json, sys
d = json.load(sys.stdin)
b = {s[\"source\"]: s[\"bytes\"] for s in d[\"sources\"]}
h = json.load(open(\"$4\"))[\"header_size\"]
assert b[\"127.0.0.1:$2\"] <= h and b[\"$3\"] >= d[\"bytes_wanted\"] - h, b
"' _ "$out" "$port_gb" "$ORIGIN/stories.gguf" \
    "$SWARM_HOME/hfresh/shards/$SID/manifest.json"

# --- three seeding peers, one of them corrupt -------------------------------
# (their stores copied from the whole file: its id commits to its bytes)
for s in p1:0:3 p2:2:5 p3:3:5; do
	n=${s%%:*}
	mkdir -p "$SWARM_HOME/$n"
	CID=$(SWARM_HOME=$SWARM_HOME/$n "$SWARM" shard add "$M" --blocks \
	    "${s#*:}" --head) || fail "add-$n"
done
# p2's copy of its span is overwritten with garbage, behind its records
python3 -c "
import json
m = json.load(open('$SWARM_HOME/p2/shards/$CID/manifest.json'))
f = open('$SWARM_HOME/p2/shards/$CID/model.gguf', 'r+b')
for t in m['tensors']:
    if t['name'].startswith(('blk.2.', 'blk.3.', 'blk.4.')):
        f.seek(t['offset']); f.write(b'\x55' * t['size'])
"
export SWARM_ANNOUNCE_INTERVAL=2
start_node p1 "$SWARM_HOME/p1" "$CID" 0:3 --new-swarm
start_node p2 "$SWARM_HOME/p2" "$CID" 2:5 --bootstrap 127.0.0.1:$port_p1
start_node p3 "$SWARM_HOME/p3" "$CID" 3:5 --bootstrap 127.0.0.1:$port_p1
unset SWARM_ANNOUNCE_INTERVAL
mkdir -p "$SWARM_HOME/hpull"
expect pull-peers 0 env SWARM_HOME=$SWARM_HOME/hpull "$SWARM" shard pull "$CID" \
    --blocks all --head --peer 127.0.0.1:$port_p1 \
    --peer 127.0.0.1:$port_p2 --peer 127.0.0.1:$port_p3 --json
check pull-peers-banned sh -c 'echo "$1" | python3 -c "
import json, sys
d = json.load(sys.stdin)
b = [s[\"source\"] for s in d[\"sources\"] if s[\"banned\"]]
assert b == [\"127.0.0.1:$2\"], b
assert d[\"bad_pieces\"] >= 1
"' _ "$out" "$port_p2"
check pull-peers-named sh -c 'echo "$1" | grep -q "banned 127.0.0.1:$2"' _ \
    "$err" "$port_p2"
check pull-peers-identical python3 -c "
import json
m = json.load(open('$SWARM_HOME/hpull/shards/$CID/manifest.json'))
a = open('$M', 'rb').read()
b = open('$SWARM_HOME/hpull/shards/$CID/model.gguf', 'rb').read()
assert a[:m['header_size']] == b[:m['header_size']]
for t in m['tensors']:
    o, n = t['offset'], t['size']
    assert a[o:o + n] == b[o:o + n], t['name']
"
expect pull-peers-verify 0 env SWARM_HOME=$SWARM_HOME/hpull "$SWARM" shard verify

# the same, the seeders found in the DHT: their records say what they hold
i=0
while :; do
	rm -rf "$SWARM_HOME/hdht"
	mkdir -p "$SWARM_HOME/hdht"
	out=$(SWARM_HOME=$SWARM_HOME/hdht "$SWARM" shard pull "$CID" \
	    --blocks all --head --bootstrap 127.0.0.1:$port_p1 --json \
	    2>"$SWARM_HOME/dht.err")
	n=$(echo "$out" | json_get '["sources"].__len__()' 2>/dev/null)
	i=$((i + 1))
	[ "$n" = 3 ] || [ $i -ge 20 ] && break
	sleep 0.3
done
check pull-dht-three-seeders [ "$n" = 3 ]
check pull-dht-banned sh -c 'echo "$1" | grep -q "banned 127.0.0.1:$2"' _ \
    "$(cat "$SWARM_HOME/dht.err")" "$port_p2"
expect pull-dht-verify 0 env SWARM_HOME=$SWARM_HOME/hdht "$SWARM" shard verify

# --- one byte flipped in a tensor: another id, never mixed ------------------
cp "$M" "$SWARM_HOME/alt.gguf"
python3 -c "
import json
m = json.load(open('$SWARM_HOME/p1/shards/$CID/manifest.json'))
t = [t for t in m['tensors'] if t['name'] == 'blk.1.attn_q.weight'][0]
f = open('$SWARM_HOME/alt.gguf', 'r+b')
f.seek(t['offset'] + t['size'] // 2); b = f.read(1)
f.seek(t['offset'] + t['size'] // 2); f.write(bytes([b[0] ^ 1]))
"
mkdir -p "$SWARM_HOME/halt" "$SWARM_HOME/hhonest"
AID=$(SWARM_HOME=$SWARM_HOME/halt "$SWARM" shard add "$SWARM_HOME/alt.gguf")
check flipped-byte-id-differs [ -n "$AID" -a "$AID" != "$CID" ]
start_node alt "$SWARM_HOME/halt" "$SWARM_HOME/alt.gguf" 0:5
start_node honest "$SWARM_HOME/hhonest" "$M" 0:5
check alt-serves-its-id grep -q "(model $AID," "$SWARM_HOME/alt.log"
expect alt-not-used 1 "$SWARM" infer run -m "$M" --peer 127.0.0.1:$port_alt \
    -n 1 --temp 0
expect alt-skipped 0 "$SWARM" infer run -m "$M" --peer 127.0.0.1:$port_alt \
    --peer 127.0.0.1:$port_honest -n 200 --temp 0
check alt-skipped-golden [ "$out" = "$(cat "$GOLDEN")" ]
check alt-no-session sh -c '! grep -q "session" "$1"' _ "$SWARM_HOME/alt.log"
# a peer that serves the altered copy's manifest under the original id (a
# liar, in python): the manifest is refused, no byte is taken from it
AM=$SWARM_HOME/halt/shards/$AID/manifest.json
lieport=$(free_port)
python3 -c "
import http.server, json, sys
m = json.load(open('$AM'))
m['id'] = '$CID'
n = 1 + sum(len(t['pieces']) for t in m['tensors'])
doc = json.dumps({'manifest': m, 'held': '1' * n}).encode()
data = open('$SWARM_HOME/alt.gguf', 'rb').read()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.endswith('/manifest'):
            body = doc
        else:
            a, b = self.headers['Range'][6:].split('-')
            body = data[int(a):int(b) + 1]
        self.send_response(200 if self.path.endswith('/manifest') else 206)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        open('$SWARM_HOME/liar.log', 'a').write(self.path + chr(10))
http.server.HTTPServer(('127.0.0.1', $lieport), H).serve_forever()
" &
liepid=$!
track $liepid
i=0
until curl -s -o /dev/null "http://127.0.0.1:$lieport/shards/x/manifest"; do
	i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.05
done
mkdir -p "$SWARM_HOME/hpalt"
expect liar-refused 1 env SWARM_HOME=$SWARM_HOME/hpalt "$SWARM" shard \
    pull "$CID" --peer 127.0.0.1:$lieport --blocks 0:1
check liar-said sh -c 'echo "$1" | grep -q "no peer serves the manifest"' \
    _ "$err"
check liar-no-data sh -c '! grep -q "/data" "$1"' _ "$SWARM_HOME/liar.log"
kill "$liepid"
wait "$liepid" 2>/dev/null
kill "$pid_alt" "$pid_honest"
wait "$pid_alt" "$pid_honest" 2>/dev/null

# --- kill -9 in the middle of a pull, then the same pull ---------------------
start_origin 1500
"$SWARM" shard pull "$ORIGIN/f32.gguf" --blocks all --head \
    >/dev/null 2>&1 &
ppid=$!
track $ppid
# killed once some pieces are in (the origin sends 1.5 MB/s a connection)
i=0
while [ $i -lt 100 ]; do
	held=$("$SWARM" shard list --json 2>/dev/null |
	    python3 -c "import json,sys; print(sum(m['bytes'] for m in json.load(sys.stdin) if m['id'].startswith('synth-llama-f32')))" 2>/dev/null)
	[ "${held:-0}" -gt 1048576 ] && break
	i=$((i + 1))
	sleep 0.1
done
kill -9 $ppid
wait $ppid 2>/dev/null
expect pull-resumed 0 "$SWARM" shard pull "$ORIGIN/f32.gguf" --blocks all \
    --head --json
wanted=$(echo "$out" | json_get '["bytes_wanted"]')
again=$(echo "$out" | json_get '["bytes_fetched"]')
stop_origin
# at most four pieces in flight (4 MiB each) fetched twice, and the header
check resume-refetch-bounded [ "$logged" -le $((wanted + 4 * 4194304 + 131072)) ]
check resume-resumed [ "$again" -lt "$wanted" ]
expect resume-verify 0 "$SWARM" shard verify
check resume-identical python3 -c "
import glob, json
d = glob.glob('$SWARM_HOME/shards/synth-llama-f32-*')[0]
m = json.load(open(d + '/manifest.json'))
a = open('$W/f32.gguf', 'rb').read()
b = open(d + '/model.gguf', 'rb').read()
for t in m['tensors']:
    o, n = t['offset'], t['size']
    assert a[o:o + n] == b[o:o + n], t['name']
"

# a crash of the machine (another boot) leaves records not synced: the
# pieces are hashed again, and the one whose bytes did not reach the disk
# is fetched again
D=$(echo "$SWARM_HOME"/shards/synth-llama-f32-*)
# damage_piece BYTE: 64 bytes of BYTE over the start of blk.1.attn_q in
# $D's model.gguf (one piece); prints that tensor's size
damage_piece() {
	python3 -c "
import json
m = json.load(open('$D/manifest.json'))
t = [t for t in m['tensors'] if t['name'] == 'blk.1.attn_q.weight'][0]
f = open('$D/model.gguf', 'r+b'); f.seek(t['offset']); f.write(bytes([$1]) * 64)
print(t['size'])
"
}
psize=$(damage_piece 0)
echo "another-boot" >"$D/unsynced"
start_origin
expect crash-repull 0 "$SWARM" shard pull "$ORIGIN/f32.gguf" --blocks all \
    --head --json
stop_origin
check crash-refetch-one [ "$(echo "$out" | json_get '["bytes_fetched"]')" = \
    "$psize" ]
# the pull closes without waiting for the disk: the mark says this boot,
# and the next open, with no writer at work, syncs and drops it
check crash-marked-this-boot [ "$(cat "$D/unsynced")" = \
    "$(cat /proc/sys/kernel/random/boot_id)" ]
expect crash-list 0 "$SWARM" shard list --json
check crash-settled [ ! -e "$D/unsynced" ]
# held_of: the spans of $D's model in the `shard list --json` of $out
held_of() {
	echo "$out" | python3 -c "
import json, sys
print([m['held'] for m in json.load(sys.stdin) if m['id'] == '${D##*/}'])"
}
full_held=$(held_of)

# after a crash, a reader finds a piece bad: its record is cleared for good
# (a later open, trusting the records again, still lacks the piece)
damage_piece 1 >/dev/null
echo "another-boot" >"$D/unsynced"
expect crash-reader 0 "$SWARM" shard list --json
check crash-reader-settled [ ! -e "$D/unsynced" ]
expect crash-reader-again 0 "$SWARM" shard list --json
check crash-reader-dropped [ "$(held_of)" != "$full_held" ]
start_origin
expect crash-refill 0 "$SWARM" shard pull "$ORIGIN/f32.gguf" --blocks all \
    --head --json
stop_origin
check crash-refill-one [ "$(echo "$out" | json_get '["bytes_fetched"]')" = \
    "$psize" ]

# --- a store too small for the span ------------------------------------------
T=$SWARM_HOME/tiny
mkdir -p "$T"
if mount -t tmpfs -o size=2m tmpfs "$T" 2>/dev/null; then
	mounted=$T
	start_origin
	expect full-disk 1 env SWARM_HOME=$T "$SWARM" shard pull "$ORIGIN/f32.gguf" \
	    --blocks all
	check full-disk-said sh -c 'echo "$1" | grep -q "not enough space"' _ \
	    "$err"
	stop_origin
	expect full-disk-verify 0 env SWARM_HOME=$T "$SWARM" shard verify
	umount "$T" && mounted=""
else
	echo "SKIP full-disk: cannot mount a tmpfs here"
fi
exit $cli_failed
