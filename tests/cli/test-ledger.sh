# The ledger on loopback: receipts through three nodes credit exactly the
# units computed, on both sides, a failover included; forged, inflated and
# replayed receipts are refused and counted; a row edited by hand fails
# `ledger verify`, named; a node past its credit limit is routed around
# with the text unchanged; a node killed with -9 keeps its receipts; a
# creditor's steps go first on a busy node; `serve` counts per API key.
. tests/cli/lib.sh
M=$MODELS/stories260K.gguf
GOLDEN=$MODELS/golden/stories260K_run_t0_n200.expected.txt

# start_node NAME BLOCKS [ARGS...]: lib.sh's node_start, its ledger in
# NAME.db (or $LEDGER); the environment given before the call applies.
start_node() {
	sn_name=$1 sn_blocks=$2
	shift 2
	node_env="SWARM_LEDGER_PATH=${LEDGER:-$SWARM_HOME/$sn_name.db}"
	node_start "$sn_name" -m "$M" --blocks "$sn_blocks" --threads 1 "$@"
	sn_rc=$?
	node_env=
	return $sn_rc
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
# With push (the default, said here): the nodes forward to each other and
# the client receipts each hop all the same.
expect three-nodes-run 0 "$SWARM" infer run -m "$M" $PEERS -n 200 --temp 0 --push
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
export SWARM_TEST_STEP_DELAY_MS=5
start_node r1 0:2 --drain-timeout 0
start_node r2 0:2 --drain-timeout 0
unset SWARM_TEST_STEP_DELAY_MS
stop a
info r1 >"$SWARM_HOME/r1.info"
info r2 >"$SWARM_HOME/r2.info"
: >"$SWARM_HOME/fo.err"
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
# a few receipts (one each 0.25 s) in, of about 1.2 s
sleep 0.6
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

# --- forged, inflated, replayed: refused and counted; an edited row named --
start_node v 0:5
MODEL_ID=$(info v | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["record"]["model_id"])')
check bad-receipts python3 - "$port_v" "$MODEL_ID" <<'PYEOF'
import http.client, json, struct, sys, time
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization
port, mid = int(sys.argv[1]), sys.argv[2]
raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
pk = key.public_key().public_bytes(*raw)
c = http.client.HTTPConnection("127.0.0.1", port)
def req(method, path, body=None, headers={}):
    c.request(method, path, body, headers)
    r = c.getresponse()
    return r.status, r.read()
ts = int(time.time())
terms = "swarm-session-v1\n%s\n0\n5\n16\n%d\n" % (mid, ts)
st, b = req("POST", "/sessions", json.dumps({"model_id": mid,
    "block_begin": 0, "block_end": 5, "max_length": 16,
    "client_key": pk.hex(), "timestamp": ts,
    "signature": key.sign(terms.encode()).hex()}))
assert st == 200, (st, b)
o = json.loads(b)
sid, nk, price = o["session_id"], o["node_key"], o["price"]
def receipt(signer, tokens, seq):
    units = tokens * 5
    amount = units * price // 1000
    t = "swarm-receipt-v1\n%s\n%s\n%s\n%s\n0\n5\n%d\n%d\n%d\n%d\n%d\n%d\n" % (
        sid, pk.hex(), nk, mid, tokens, units, price, amount, seq, ts)
    return "%d,%d,%d,%d,%d,%s" % (seq, tokens, units, amount, ts,
        signer.sign(t.encode()).hex())
def step(n, r=None):
    h = b"SWHS" + struct.pack("<HHIIIIQQQ", 1, 0, 1, 64, n, 0, n, 0, 0)
    return req("POST", "/sessions/%s/step" % sid, h + b"\0\0\x80\x3f" * 64,
               {"X-Swarm-Receipt": r} if r else {})
assert step(0)[0] == 200
good1 = receipt(key, 1, 1)
assert step(1, good1)[0] == 200
st, b = step(2, receipt(other, 2, 2))           # forged: another key
assert st == 402 and b"forged" in b, (st, b)
st, b = step(2, receipt(key, 9, 2))             # inflated: 9 tokens, 2 done
assert st == 402 and b"inflated" in b, (st, b)
assert step(2, receipt(key, 2, 2))[0] == 200
st, b = step(3, good1)                          # replayed: an old one
assert st == 402 and b"replayed" in b, (st, b)
assert step(3, receipt(key, 3, 3))[0] == 200
st, b = req("DELETE", "/sessions/" + sid, None,
            {"X-Swarm-Receipt": receipt(key, 4, 4)})
assert st == 200 and json.loads(b)["receipt_taken"], (st, b)
st, b = req("GET", "/info")
led = json.loads(b)["status"]["ledger"]
print(led)
assert led["receipts_accepted"] == 4, led
assert led["receipts_rejected"] == {"forged": 1, "inflated": 1,
    "replayed": 1, "malformed": 0}, led
PYEOF
check bad-receipts-logged sh -c 'grep -q "receipt rejected (forged)" "$1" &&
    grep -q "receipt rejected (inflated)" "$1" &&
    grep -q "receipt rejected (replayed)" "$1"' _ "$SWARM_HOME/v.log"
stop v
expect verify-good 0 "$SWARM" ledger verify --db "$SWARM_HOME/v.db"
check verify-good-count [ "$out" = "4 receipts verified" ]
python3 - "$SWARM_HOME/v.db" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE receipts SET tokens = tokens + 1, units = units + 5 "
           "WHERE id = 3")
db.commit()
PYEOF
expect verify-edited 1 "$SWARM" ledger verify --db "$SWARM_HOME/v.db"
check verify-names-row sh -c 'printf "%s\n" "$1" | grep -q "^row 3: signature does not verify" &&
    ! printf "%s\n" "$1" | grep -q "^row [124]:"' _ "$err"
expect verify-edited-json 1 "$SWARM" ledger verify --json --db "$SWARM_HOME/v.db"
check verify-json-row sh -c 'printf "%s\n" "$1" | python3 -c "
import json,sys
d=json.load(sys.stdin)
assert [b[\"row\"] for b in d[\"bad\"]] == [3], d
"' _ "$out"
expect receipts-json 0 "$SWARM" ledger receipts --json --db "$SWARM_HOME/v.db"
check receipts-json-4 sh -c 'printf "%s\n" "$1" | python3 -c "
import json,sys
d=json.load(sys.stdin)
assert [r[\"seq\"] for r in d] == [1,2,3,4] and d[3][\"units\"] == 20, d
"' _ "$out"
# The export is checkable by anyone with the keys, without swarm.
"$SWARM" ledger export --db "$SWARM_HOME/ledger.db" >"$SWARM_HOME/export"
check export-verifies python3 -c '
import json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    t = "swarm-receipt-v1\n" + "".join("%s\n" % r[k] for k in ("session",
        "client_key", "node_key", "model_id", "block_begin", "block_end",
        "tokens", "units", "price", "amount", "seq", "time"))
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(r["client_key"])).verify(
        bytes.fromhex(r["signature"]), t.encode())
    n += 1
assert n > 5, n
' "$SWARM_HOME/export"

# --- credit limit 0, free units spent: refused, routed around, same text --
export SWARM_NODE_CREDIT_LIMIT=0 SWARM_NODE_FREE_UNITS=10
start_node p 0:2
unset SWARM_NODE_CREDIT_LIMIT SWARM_NODE_FREE_UNITS
export SWARM_TEST_STEP_DELAY_MS=2
start_node q 0:2
unset SWARM_TEST_STEP_DELAY_MS
start_node t 2:5
expect credit-run 0 "$SWARM" infer run -m "$M" -n 200 --temp 0 -v \
    --peer 127.0.0.1:$port_p --peer 127.0.0.1:$port_q --peer 127.0.0.1:$port_t
check credit-golden [ "$out" = "$(cat "$GOLDEN")" ]
check credit-chose-p-first sh -c 'printf "%s\n" "$1" | grep -m1 "chain:" |
    grep -q "127.0.0.1:$2 blocks 0:2"' _ "$err" "$port_p"
check credit-client-told sh -c 'printf "%s\n" "$1" |
    grep -q "127.0.0.1:$2 refused for .*payment required: this client owes"' \
    _ "$err" "$port_p"
info p >"$SWARM_HOME/p.info"
check credit-refusal-counted python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["status"]
# 10 free units: 5 tokens through 2 blocks, one more before the check
assert d["ledger"]["payment_refusals"] >= 1 and d["tokens_processed"] == 6, d
' "$SWARM_HOME/p.info"
check credit-logged grep -q "payment required" "$SWARM_HOME/p.log"
stop p q t
# what the refusing node took is what the client counts as taken there
check credit-accounts-agree accounts "$SWARM_HOME/ledger.db" p:2:-

# --- kill -9 mid-run: after a restart the ledger holds what the node took,
# all but at most its last batch, and verifies; the same for serve ----------
export SWARM_TEST_STEP_DELAY_MS=5
start_node k1 0:5
start_node k2 0:5
unset SWARM_TEST_STEP_DELAY_MS
info k1 >"$SWARM_HOME/k1.info"
: >"$SWARM_HOME/k.err"
SWARM_LEDGER_PATH="$SWARM_HOME/kc.db" "$SWARM" infer run -m "$M" -n 200 \
    --temp 0 -v --peer 127.0.0.1:$port_k1 --peer 127.0.0.1:$port_k2 \
    >"$SWARM_HOME/k.out" 2>"$SWARM_HOME/k.err" &
cpid=$!
track $cpid
i=0
while ! grep -q "chain:" "$SWARM_HOME/k.err" && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
sleep 0.7
if grep -q "chain: 127.0.0.1:$port_k1 " "$SWARM_HOME/k.err"; then
	victim=k1 alive=$port_k2
else
	victim=k2 alive=$port_k1
	info k2 >"$SWARM_HOME/k1.info"
fi
eval "kill -9 \$pid_$victim"
wait $cpid
check kill9-client-done cmp -s "$SWARM_HOME/k.out" "$GOLDEN"
# restart on the victim's ledger
SWARM_LEDGER_PATH="$SWARM_HOME/$victim.db" "$SWARM" node join -m "$M" \
    --blocks 0:5 --listen 127.0.0.1:0 --port-file "$SWARM_HOME/re.port" \
    --threads 1 2>"$SWARM_HOME/re.log" &
pid_re=$!
track $pid_re
check kill9-restarted wait_file "$SWARM_HOME/re.port"
expect kill9-verify 0 "$SWARM" ledger verify --db "$SWARM_HOME/$victim.db"
"$SWARM" ledger receipts --json --db "$SWARM_HOME/$victim.db" \
    >"$SWARM_HOME/kn.json"
"$SWARM" ledger receipts --json --db "$SWARM_HOME/kc.db" \
    >"$SWARM_HOME/kc.json"
check kill9-kept python3 - "$SWARM_HOME/kn.json" "$SWARM_HOME/kc.json" \
    "$SWARM_HOME/k1.info" <<'PYEOF'
import json, sys
node = json.load(open(sys.argv[1]))
client = json.load(open(sys.argv[2]))
nid = json.load(open(sys.argv[3]))["record"]["peer_id"]
# what the client had acknowledged by this node, in signing order
acked = [r["signature"] for r in client if r["node"] == nid]
kept = [r["signature"] for r in node]
print("acknowledged", len(acked), "kept", len(kept))
# a prefix: nothing kept that was not acknowledged, nothing lost but the
# last batch (100 ms), which holds at most one receipt (one each 0.25 s)
assert kept == acked[:len(kept)], "not a prefix"
assert len(kept) > 1 and len(acked) - len(kept) <= 1, (len(acked), len(kept))
PYEOF
kill $pid_re
wait $pid_re 2>/dev/null

# serve: each API key's use, kept across a kill -9 in the middle of a request
rm -f "$SWARM_HOME/gw.port"
SWARM_LEDGER_PATH="$SWARM_HOME/gw.db" SWARM_TEST_EVAL_DELAY_MS=20 \
    "$SWARM" serve -m "$M" --peer 127.0.0.1:$alive --listen 127.0.0.1:0 \
    --port-file "$SWARM_HOME/gw.port" --threads 1 --api-key alpha \
    --api-key beta 2>"$SWARM_HOME/gw.log" &
pid_gw=$!
track $pid_gw
wait_file "$SWARM_HOME/gw.port" || fail start-gw "$(cat "$SWARM_HOME/gw.log")"
port_gw=$(cat "$SWARM_HOME/gw.port")
complete() {
	curl -s -H "Authorization: Bearer $1" -H "Content-Type: application/json" \
	    -d "{\"model\":\"stories260K\",\"prompt\":\"Once\",\"max_tokens\":$2,\"temperature\":0}" \
	    "127.0.0.1:$port_gw/v1/completions"
}
complete alpha 5 >/dev/null
complete alpha 5 >/dev/null
complete beta 7 >/dev/null
sleep 0.3
complete beta 200 >/dev/null &
sleep 0.5
kill -9 $pid_gw
expect serve-verify 0 "$SWARM" ledger verify --db "$SWARM_HOME/gw.db"
expect serve-show 0 "$SWARM" ledger show --json --db "$SWARM_HOME/gw.db"
check serve-per-key python3 -c '
import json, sys, hashlib
d = json.loads(sys.argv[1])
keys = {k["key"]: k for k in d["api_keys"]}
kid = lambda s: hashlib.blake2b(s.encode(), digest_size=32).hexdigest()[:16]
a, b = keys[kid("alpha")], keys[kid("beta")]
print(a, b)
assert a["requests"] == 2 and a["tokens_out"] == 10 and a["tokens_in"] == 4, a
assert b["requests"] == 1 and b["tokens_out"] == 7, b
# every block of every evaluated token: (prompt + out - 1) x 5 blocks
assert a["units"] == 2 * (2 + 5 - 1) * 5 and b["units"] == (2 + 7 - 1) * 5
# and what the request cut short had used
assert d["totals"]["used_units"] > a["units"] + b["units"], d["totals"]
' "$out"
stop $( [ $victim = k1 ] && echo k2 || echo k1 )

# --- priority: on a busy node the creditor's steps go first --------------
# n's owner used m, which runs with c1's key: c1 served n's owner, so at n
# (sharing its owner's ledger) c1 is a creditor; c2 is not.
HN=$SWARM_HOME/hn HC1=$SWARM_HOME/hc1 HC2=$SWARM_HOME/hc2
mkdir -p "$HN" "$HC1" "$HC2"
SWARM_NODE_PRICE=1 start_node m 0:5 --identity "$HC1/client.key"
SWARM_HOME=$HN "$SWARM" infer run -m "$M" -n 20 --peer 127.0.0.1:$port_m \
    >/dev/null 2>&1
stop m
export SWARM_TEST_STEP_DELAY_MS=20
LEDGER=$HN/ledger.db start_node n 0:5
unset SWARM_TEST_STEP_DELAY_MS
: >"$SWARM_HOME/order"
run_client() {
	SWARM_HOME=$1 "$SWARM" infer run -m "$M" -n 40 --temp 0 \
	    --peer 127.0.0.1:$port_n >"$SWARM_HOME/$2.out" 2>&1
	echo "$2 $?" >>"$SWARM_HOME/order"
}
# the debtor's three runs start first; the creditor's a little later
for i in 1 2 3; do
	run_client "$HC2" c2-$i &
	track $!
done
sleep 0.2
run_client "$HC1" c1 &
track $!
i=0
while [ "$(wc -l <"$SWARM_HOME/order")" -lt 4 ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
check priority-creditor-first [ "$(head -n 1 "$SWARM_HOME/order")" = "c1 0" ]
check priority-nobody-starved [ "$(grep -c ' 0$' "$SWARM_HOME/order")" -eq 4 ]
# client.max_price: a node dearer than the cap is not routed through
SWARM_CLIENT_MAX_PRICE=0.00001 expect max-price-cap 1 "$SWARM" infer run \
    -m "$M" -n 2 --peer 127.0.0.1:$port_n
check max-price-says-why sh -c 'printf "%s\n" "$1" | grep -q "blocks 0:5 have no peer"' \
    _ "$err"
stop n
