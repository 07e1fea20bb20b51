# The official openai npm client against `swarm serve --local`: models, a
# completion, a stream, and errors surfaced as the client's error types.
# Needs node and the npm registry; the client is installed once into
# build/e2e (E2E_DIR overrides it).
. tests/cli/lib.sh
M=$MODELS/stories260K.gguf
E2E_DIR=${E2E_DIR:-$PWD/build/e2e}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	fail openai-client "node and npm are needed"
	exit 1
fi
if [ ! -d "$E2E_DIR/node_modules/openai" ]; then
	mkdir -p "$E2E_DIR"
	(cd "$E2E_DIR" && { [ -f package.json ] || npm init -y >/dev/null; } &&
	    npm install --no-audit --no-fund openai@4 >/dev/null 2>&1) || {
		fail openai-install "npm install openai failed"
		exit 1
	}
fi
cp tests/e2e/openai-client.mjs "$E2E_DIR/"

"$SWARM" serve -m "$M" --local --listen 127.0.0.1:0 --ctx-size 512 \
    --port-file "$SWARM_HOME/port" --api-key sk-e2e --threads 1 \
    2>"$SWARM_HOME/serve.log" &
track $!
i=0
while [ ! -s "$SWARM_HOME/port" ]; do
	i=$((i + 1))
	[ $i -gt 200 ] && { fail start "$(cat "$SWARM_HOME/serve.log")"; exit 1; }
	sleep 0.05
done
node "$E2E_DIR/openai-client.mjs" "http://127.0.0.1:$(cat "$SWARM_HOME/port")/v1" \
    sk-e2e stories260K
exit $?
