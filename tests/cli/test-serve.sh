# swarm serve: the OpenAI-compatible API on loopback over stories260K run
# locally (no chat template: ChatML). Endpoints, a greedy answer equal to
# `infer run --chat`, streams, every error status, API keys, the context
# limit, heartbeats while the first token is slow, 429 when full, and a
# client hanging up mid-stream, and requests with tools.
. tests/cli/lib.sh
M=$MODELS/stories260K.gguf

# start_serve NAME [ARGS...]: a server on a free port, its port in $port.
start_serve() {
	ss_name=$1
	shift
	rm -f "$SWARM_HOME/$ss_name.port"
	"$SWARM" serve -m "$M" --local --listen 127.0.0.1:0 \
	    --port-file "$SWARM_HOME/$ss_name.port" --threads 1 "$@" \
	    2>"$SWARM_HOME/$ss_name.log" &
	track $!
	wait_file "$SWARM_HOME/$ss_name.port" || {
		fail "start-$ss_name" "$(cat "$SWARM_HOME/$ss_name.log")"
		exit 1
	}
	port=$(cat "$SWARM_HOME/$ss_name.port")
}

# --- the usage ------------------------------------------------------------------
expect no-model 2 "$SWARM" serve --local
expect local-and-peer 2 "$SWARM" serve -m "$M" --local --peer 127.0.0.1:1
expect no-swarm 2 "$SWARM" serve -m "$M"

start_serve a --ctx-size 256 --api-key k1 --api-key k2 --max-body 4096 \
    --max-concurrent 32
A=$port
GREEDY=$("$SWARM" infer run --local -m "$M" --chat --temp 0 -n 20 \
    "Once upon a time" 2>/dev/null)
PLAIN=$("$SWARM" infer run --local -m "$M" --temp 0 -n 20 \
    "Once upon a time" 2>/dev/null)
export A GREEDY PLAIN

check serve-api python3 - <<'PYEOF'
import http.client, json, os, re, sys, threading, time

port = int(os.environ["A"])
ok = True

def req(method, path, body=None, key="k1", raw=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = {"Content-Type": "application/json"}
    if key:
        h["Authorization"] = "Bearer " + key
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    d = r.read()
    c.close()
    return r.status, dict(r.getheaders()), d

def jreq(*a, **k):
    s, h, d = req(*a, **k)
    return s, h, json.loads(d)

def want(name, cond, info=""):
    global ok
    if not cond:
        ok = False
        print("  %s: %s" % (name, info), file=sys.stderr)

def err(name, status, want_status, d, param=None, code=None, msg=None):
    want(name, status == want_status, "status %d, want %d: %r" % (status, want_status, d))
    e = d.get("error", {}) if isinstance(d, dict) else {}
    want(name + "-shape", set(e) == {"message", "type", "param", "code"}, d)
    if param is not None:
        want(name + "-param", e.get("param") == param, d)
    if code is not None:
        want(name + "-code", e.get("code") == code, d)
    if msg is not None:
        want(name + "-msg", msg in e.get("message", ""), d)

chat = lambda **k: dict({"model": "stories260K", "messages": [
    {"role": "user", "content": "Once upon a time"}]}, **k)

# models and health
s, _, d = jreq("GET", "/health", key=None)
want("health", s == 200 and d["status"] == "ok", d)
s, _, d = jreq("GET", "/v1/models")
want("models", s == 200 and d["object"] == "list" and d["data"][0]["id"] == "stories260K"
     and d["data"][0]["max_model_len"] == 256 and d["data"][0]["owned_by"], d)
s, _, d = jreq("GET", "/v1/models/stories260K")
want("model", s == 200 and d["id"] == "stories260K" and d["object"] == "model", d)
s, _, d = jreq("GET", "/v1/models/nope")
err("model-404", s, 404, d, code="model_not_found")

# API keys
s, _, d = jreq("GET", "/v1/models", key=None)
err("no-key", s, 401, d, code="invalid_api_key")
s, _, d = jreq("POST", "/v1/chat/completions", chat(), key="wrong")
err("wrong-key", s, 401, d)
s, _, d = jreq("GET", "/v1/models", key="k2")
want("second-key", s == 200, d)

# a greedy answer: the text of infer run --chat, twice the same
s, _, d = jreq("POST", "/v1/chat/completions", chat(temperature=0, max_tokens=20,
               some_unknown_field={"x": 1}))
want("greedy", s == 200, d)
c = d["choices"][0]
want("greedy-text", c["message"]["content"] == os.environ["GREEDY"],
     "%r vs %r" % (c["message"]["content"], os.environ["GREEDY"]))
want("greedy-shape", d["object"] == "chat.completion" and d["id"].startswith("chatcmpl-")
     and c["message"]["role"] == "assistant" and c["finish_reason"] in ("stop", "length")
     and d["usage"]["completion_tokens"] <= 20
     and d["usage"]["total_tokens"] == d["usage"]["prompt_tokens"] + d["usage"]["completion_tokens"], d)
s, _, d2 = jreq("POST", "/v1/chat/completions", chat(temperature=0, max_completion_tokens=20))
want("greedy-again", d2["choices"][0]["message"]["content"] == c["message"]["content"], d2)
greedy = c["message"]["content"]
prompt_tokens = d["usage"]["prompt_tokens"]

# content parts, developer, assistant with tool calls, tool results
s, _, d = jreq("POST", "/v1/chat/completions", {"model": "stories260K", "temperature": 0,
    "max_tokens": 5, "messages": [
    {"role": "developer", "content": "Be brief."},
    {"role": "user", "content": [{"type": "text", "text": "Once upon "}, {"type": "text", "text": "a time"}]},
    {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
        "function": {"name": "f", "arguments": "{\"a\":1}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "42"}]})
want("roles", s == 200 and d["usage"]["prompt_tokens"] > prompt_tokens, d)

# a stop string
words = greedy.split()
if len(words) > 2:
    s, _, d = jreq("POST", "/v1/chat/completions", chat(temperature=0, max_tokens=20, stop=[words[2]]))
    want("stop", s == 200 and words[2] not in d["choices"][0]["message"]["content"]
         and d["choices"][0]["finish_reason"] == "stop"
         and greedy.startswith(d["choices"][0]["message"]["content"]), d)

# text completions: a string and a token list
s, _, d = jreq("POST", "/v1/completions", {"model": "stories260K", "prompt": "Once upon a time",
               "temperature": 0, "max_tokens": 20})
want("completion", s == 200 and d["object"] == "text_completion"
     and d["choices"][0]["text"] == os.environ["PLAIN"], d)
s, _, d = jreq("POST", "/v1/completions", {"model": "stories260K", "prompt": [1, 403, 407],
               "temperature": 0, "max_tokens": 5})
want("completion-ids", s == 200 and d["usage"]["prompt_tokens"] == 3, d)
s, _, d = jreq("POST", "/v1/completions", {"model": "stories260K", "prompt": [1, 99999]})
err("completion-bad-id", s, 400, d, param="prompt")

# a stream: the role first, the text, the finish, the usage, [DONE]
def stream(body, close_after=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/v1/chat/completions", body=json.dumps(body),
              headers={"Authorization": "Bearer k1"})
    r = c.getresponse()
    ev = []
    ctype = r.getheader("Content-Type")
    while True:
        line = r.readline()
        if not line:
            break
        line = line.decode().rstrip("\n")
        if not line.startswith("data: "):
            continue
        ev.append(line[6:])
        if close_after is not None and len(ev) >= close_after:
            c.sock.close()
            break
    c.close()
    return r.status, ctype, ev

s, ctype, ev = stream(chat(temperature=0, max_tokens=20, stream=True,
                           stream_options={"include_usage": True}))
want("stream", s == 200 and ctype.startswith("text/event-stream") and ev[-1] == "[DONE]", ev)
chunks = [json.loads(e) for e in ev[:-1]]
want("stream-role", chunks[0]["choices"][0]["delta"].get("role") == "assistant", chunks[0])
text = "".join(ch["choices"][0]["delta"].get("content", "") for ch in chunks if ch["choices"])
want("stream-text", text == greedy, "%r vs %r" % (text, greedy))
fin = [ch for ch in chunks if ch["choices"] and ch["choices"][0]["finish_reason"]]
want("stream-finish", len(fin) == 1 and fin[0]["choices"][0]["finish_reason"] in ("stop", "length"), fin)
want("stream-usage", chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0, chunks[-1])
want("stream-object", all(ch["object"] == "chat.completion.chunk" for ch in chunks), chunks[0])
s, ctype, ev = stream({"model": "stories260K", "prompt": "Once", "max_tokens": 3, "stream": True})
s, ctype, ev = stream(chat(max_tokens=3, stream=True))
want("stream-no-usage", ev[-1] == "[DONE]" and all("usage" not in json.loads(e) for e in ev[:-1]), ev)

# errors, each naming what is wrong
s, _, d = jreq("POST", "/v1/chat/completions", raw="{not json")
err("bad-json", s, 400, d, code="invalid_json")
s, _, d = jreq("POST", "/v1/chat/completions", {"model": "stories260K"})
err("no-messages", s, 400, d, param="messages")
s, _, d = jreq("POST", "/v1/chat/completions", {"messages": []})
err("no-model", s, 400, d, param="model")
s, _, d = jreq("POST", "/v1/chat/completions", dict(chat(), model="gpt-4"))
err("unknown-model", s, 404, d, code="model_not_found")
s, _, d = jreq("POST", "/v1/chat/completions", {"model": "stories260K", "messages": [
    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]})
err("image-part", s, 400, d, param="messages[0].content[0].type", msg="image_url")
s, _, d = jreq("POST", "/v1/chat/completions", {"model": "stories260K", "messages": [
    {"role": "wizard", "content": "x"}]})
err("bad-role", s, 400, d, param="messages[0].role", msg="wizard")
s, _, d = jreq("POST", "/v1/chat/completions", chat(n=2))
err("n-2", s, 400, d, param="n")
s, _, d = jreq("POST", "/v1/chat/completions", chat(temperature="hot"))
err("bad-temperature", s, 400, d, param="temperature")
s, _, d = jreq("POST", "/v1/chat/completions", chat(max_tokens=-1))
err("bad-max-tokens", s, 400, d, param="max_tokens")
s, _, d = jreq("POST", "/v1/chat/completions", chat(stop=[1]))
err("bad-stop", s, 400, d, param="stop")
s, _, d = jreq("POST", "/v1/chat/completions", raw=json.dumps(chat()) + " " * 5000)
err("too-large", s, 413, d)
s, _, d = jreq("GET", "/v1/chat/completions")
err("method", s, 405, d)
s, _, d = jreq("GET", "/v2/nothing", key=None)
err("no-endpoint", s, 404, d)
s, _, d = jreq("POST", "/v1/chat/completions", raw="[1,2]")
err("not-object", s, 400, d)

# the context: the prompt alone too long, and prompt plus max_tokens
long_prompt = "Once upon a time " * 80
s, _, d = jreq("POST", "/v1/chat/completions", {"model": "stories260K", "messages": [
    {"role": "user", "content": long_prompt}]})
m = re.fullmatch(r"This model's maximum context length is 256 tokens\. However, your messages "
                 r"resulted in (\d+) tokens\.", d.get("error", {}).get("message", ""))
err("context-exceeded", s, 400, d, code="context_length_exceeded")
want("context-message", m is not None and int(m.group(1)) > 256, d)
s, _, d = jreq("POST", "/v1/chat/completions", chat(temperature=0, max_tokens=1000, stop=None))
u = d.get("usage", {})
want("context-length", s == 200 and d["choices"][0]["finish_reason"] == "length"
     and u["prompt_tokens"] + u["completion_tokens"] <= 257 and u["completion_tokens"] > 20, d)

# many streams at once, all whole
res = [None] * 32
def one(i):
    res[i] = stream(chat(temperature=0, max_tokens=20, stream=True))
th = [threading.Thread(target=one, args=(i,)) for i in range(32)]
for t in th: t.start()
for t in th: t.join()
for i, r in enumerate(res):
    txt = "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in r[2][:-1])
    want("concurrent-%d" % i, r[0] == 200 and r[2][-1] == "[DONE]" and txt == greedy, r)

# metrics; a stream is counted closed just after its last bytes
for i in range(50):
    s, _, d = req("GET", "/metrics", key=None)
    d = d.decode()
    if re.search(r"^swarm_serve_active_streams 0$", d, re.M):
        break
    time.sleep(0.1)
want("metrics", s == 200 and 'swarm_serve_requests_total{status="200"}' in d
     and 'swarm_serve_requests_total{status="400"}' in d
     and "swarm_serve_time_to_first_token_seconds_bucket" in d
     and re.search(r"^swarm_serve_generation_tokens_per_second_count [1-9]", d, re.M)
     and re.search(r"^swarm_serve_completion_tokens_total [1-9]", d, re.M)
     and re.search(r"^swarm_serve_active_streams 0$", d, re.M), d)
sys.exit(0 if ok else 1)
PYEOF

# --- slow first tokens: heartbeats, 429, a client hanging up ------------------
SWARM_TEST_PROMPT_DELAY_MS=1500 SWARM_TEST_EVAL_DELAY_MS=100 \
    start_serve b --heartbeat 1 --max-concurrent 1
B=$port
export B
check serve-slow python3 - <<'PYEOF'
import http.client, json, os, re, sys, threading, time

port = int(os.environ["B"])
ok = True

def want(name, cond, info=""):
    global ok
    if not cond:
        ok = False
        print("  %s: %s" % (name, info), file=sys.stderr)

body = lambda n: json.dumps({"model": "stories260K", "max_tokens": n, "stream": True,
    "temperature": 0, "messages": [{"role": "user", "content": "Once upon a time"}]})

def open_stream(n):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/v1/chat/completions", body=body(n))
    return c, c.getresponse()

def events(r, upto=None):
    ev = []
    while True:
        line = r.readline()
        if not line:
            break
        line = line.decode().rstrip("\n")
        if line.startswith("data: "):
            ev.append(line[6:])
            if upto is not None and upto(ev):
                break
    return ev

got = {}
def run():
    c, r = open_stream(3)
    got["ev"] = events(r)
    c.close()
t = threading.Thread(target=run)
t.start()
time.sleep(0.5)
# the one slot is taken: 429 with Retry-After
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
c.request("POST", "/v1/chat/completions", body=json.dumps({"model": "stories260K",
    "messages": [{"role": "user", "content": "hi"}]}))
r = c.getresponse()
d = json.loads(r.read())
want("busy-429", r.status == 429 and r.getheader("Retry-After") == "1"
     and d["error"]["code"] == "rate_limit_exceeded", (r.status, d))
c.close()
t.join()
ev = got["ev"]
chunks = [json.loads(e) for e in ev[:-1]]
want("hb-done", ev[-1] == "[DONE]", ev)
want("hb-role", chunks[0]["choices"][0]["delta"].get("role") == "assistant", chunks[0])
# between the role and the first text: empty deltas, one a second
first = next(i for i, ch in enumerate(chunks) if ch["choices"][0]["delta"].get("content"))
hb = [ch for ch in chunks[1:first] if ch["choices"][0]["delta"] == {}
      and ch["choices"][0]["finish_reason"] is None]
want("heartbeat", len(hb) >= 1 and len(hb) == first - 1, chunks[:first + 1])

# a client hanging up mid-stream: its generation stops, the slot frees
c, r = open_stream(100)
ev = events(r, upto=lambda ev: any('"content":"' in e and '"content":""' not in e for e in ev))
c.sock.close()
c.close()
deadline = time.time() + 5
metrics = ""
while time.time() < deadline:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/metrics")
    metrics = c.getresponse().read().decode()
    c.close()
    if re.search(r"^swarm_serve_active_requests 0$", metrics, re.M) and \
            re.search(r"^swarm_serve_active_streams 0$", metrics, re.M):
        break
    time.sleep(0.1)
want("hangup-frees", re.search(r"^swarm_serve_active_streams 0$", metrics, re.M), metrics)
out = int(re.search(r"^swarm_serve_completion_tokens_total (\d+)", metrics, re.M).group(1))
# 3 from the first stream and a few before the hang-up was seen, not 100
want("hangup-stops", out < 40, out)
# a whole answer's client timing out stops its generation too
c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
c.request("POST", "/v1/chat/completions", body=json.dumps({"model": "stories260K",
    "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}))
try:
    c.getresponse().read()
    want("timeout-client", False, "answered within 2 s")
except OSError:
    pass
c.close()
deadline = time.time() + 5
while time.time() < deadline:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/metrics")
    metrics = c.getresponse().read().decode()
    c.close()
    if re.search(r"^swarm_serve_active_requests 0$", metrics, re.M):
        break
    time.sleep(0.1)
want("timeout-frees", re.search(r"^swarm_serve_active_requests 0$", metrics, re.M), metrics)
out2 = int(re.search(r"^swarm_serve_completion_tokens_total (\d+)", metrics, re.M).group(1))
want("timeout-stops", out2 - out < 20, (out, out2))
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
c.request("POST", "/v1/chat/completions", body=json.dumps({"model": "stories260K",
    "max_tokens": 2, "messages": [{"role": "user", "content": "hi"}]}))
r = c.getresponse()
want("after-hangup", r.status == 200 and json.loads(r.read())["choices"], r.status)
sys.exit(0 if ok else 1)
PYEOF
# --- tools: rendered into the prompt, the answer well-formed either way ------
start_serve c
C=$port
export C
check serve-tools python3 - <<'PYEOF'
import http.client, json, os, sys

port = int(os.environ["C"])
ok = True

def want(name, cond, info=""):
    global ok
    if not cond:
        ok = False
        print("  %s: %s" % (name, info), file=sys.stderr)

def post(body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/v1/chat/completions", body=json.dumps(body))
    r = c.getresponse()
    d = r.read().decode()
    c.close()
    return r.status, d

tools = [{"type": "function", "function": {"name": "get_weather", "description": "the weather",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
base = {"model": "stories260K", "temperature": 0, "max_tokens": 16,
        "messages": [{"role": "user", "content": "Once upon a time"}]}
s, d = post(base)
plain = json.loads(d)
for choice in ("auto", "required", {"type": "function", "function": {"name": "get_weather"}}):
    s, d = post(dict(base, tools=tools, tool_choice=choice))
    d = json.loads(d)
    want("tools-%s" % choice, s == 200, d)
    c = d["choices"][0]
    m = c["message"]
    want("tools-rendered-%s" % choice, d["usage"]["prompt_tokens"] > plain["usage"]["prompt_tokens"] + 50, d)
    if m.get("tool_calls"):
        want("tools-calls", c["finish_reason"] == "tool_calls" and all(
            t["id"].startswith("call_") and t["type"] == "function"
            and isinstance(json.loads(t["function"]["arguments"]), dict) for t in m["tool_calls"]), d)
    else:
        want("tools-text", isinstance(m["content"], str) and c["finish_reason"] in ("stop", "length"), d)
s, d = post(dict(base, tools=tools, tool_choice="none"))
want("tools-none", json.loads(d)["usage"]["prompt_tokens"] == plain["usage"]["prompt_tokens"], d)
s, d = post(dict(base, tools=tools, tool_choice="sometimes"))
want("tools-bad-choice", s == 400 and json.loads(d)["error"]["param"] == "tool_choice", d)
s, d = post(dict(base, tools=[{"type": "retrieval"}]))
want("tools-bad", s == 400 and json.loads(d)["error"]["param"] == "tools[0]", d)
s, d = post(dict(base, tools=tools, tool_choice={"type": "function", "function": {"name": "nope"}}))
want("tools-unknown-fn", s == 400 and "nope" in json.loads(d)["error"]["message"], d)
# streamed with tools: the same answer, whole, then the finish
s, d = post(dict(base, tools=tools))
whole = json.loads(d)["choices"][0]
s, d = post(dict(base, tools=tools, stream=True))
ev = [l[6:] for l in d.split("\n") if l.startswith("data: ")]
want("tools-stream-done", ev[-1] == "[DONE]", ev)
ch = [json.loads(e) for e in ev[:-1]]
text = "".join(c["choices"][0]["delta"].get("content") or "" for c in ch)
fin = [c["choices"][0]["finish_reason"] for c in ch if c["choices"][0]["finish_reason"]]
pieces = [c for c in ch if c["choices"][0]["delta"].get("content")]
want("tools-stream-pieces", len(pieces) > 1 or len(text) < 2, ch)
want("tools-stream-same", text == (whole["message"]["content"] or "") and fin == [whole["finish_reason"]],
     (text, fin, whole))
sys.exit(0 if ok else 1)
PYEOF
# start_node NAME BLOCKS: a node of $M (lib.sh's node_start).
start_node() {
	node_start "$1" -m "$M" --blocks "$2" --threads 1 || exit 1
}
start_node n1 0:2
N1=$port
start_node n2 2:5
N2=$port
rm -f "$SWARM_HOME/d.port"
"$SWARM" serve -m "$M" --listen 127.0.0.1:0 --port-file "$SWARM_HOME/d.port" \
    --peer 127.0.0.1:$N1 --peer 127.0.0.1:$N2 --threads 1 \
    2>"$SWARM_HOME/d.log" &
track $!
wait_file "$SWARM_HOME/d.port" || { fail start-d "$(cat "$SWARM_HOME/d.log")"; exit 1; }
D=$(cat "$SWARM_HOME/d.port")
rm -f "$SWARM_HOME/e.port"
"$SWARM" serve -m "$M" --listen 127.0.0.1:0 --port-file "$SWARM_HOME/e.port" \
    --peer 127.0.0.1:$N1 --threads 1 2>"$SWARM_HOME/e.log" &
track $!
wait_file "$SWARM_HOME/e.port" || { fail start-e "$(cat "$SWARM_HOME/e.log")"; exit 1; }
E=$(cat "$SWARM_HOME/e.port")
export D E N1 N2
check serve-swarm python3 - <<'PYEOF'
import http.client, json, os, re, sys, threading

ok = True
def want(name, cond, info=""):
    global ok
    if not cond:
        ok = False
        print("  %s: %s" % (name, info), file=sys.stderr)

def post(port, body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/v1/chat/completions", body=json.dumps(body))
    r = c.getresponse()
    d = r.read().decode()
    c.close()
    return r.status, r.getheader("Retry-After"), d

body = {"model": "stories260K", "temperature": 0, "max_tokens": 20,
        "messages": [{"role": "user", "content": "Once upon a time"}]}
s, _, d = post(int(os.environ["D"]), body)
want("swarm-text", s == 200 and json.loads(d)["choices"][0]["message"]["content"] == os.environ["GREEDY"],
     (d, os.environ["GREEDY"]))
s, _, d = post(int(os.environ["D"]), dict(body, stream=True))
ev = [l[6:] for l in d.split("\n") if l.startswith("data: ")]
text = "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in ev[:-1])
want("swarm-stream", ev[-1] == "[DONE]" and text == os.environ["GREEDY"], ev)
# requests at once, each with its own sessions
res = [None] * 6
def one(i):
    res[i] = post(int(os.environ["D"]), dict(body, stream=(i % 2 == 0)))
th = [threading.Thread(target=one, args=(i,)) for i in range(6)]
for t in th: t.start()
for t in th: t.join()
for i, (s, _, d) in enumerate(res):
    if i % 2:
        txt = json.loads(d)["choices"][0]["message"]["content"]
    else:
        txt = "".join(json.loads(l[6:])["choices"][0]["delta"].get("content", "")
                      for l in d.split("\n") if l.startswith("data: {"))
    want("swarm-concurrent-%d" % i, s == 200 and txt == os.environ["GREEDY"], d)
c = http.client.HTTPConnection("127.0.0.1", int(os.environ["D"]), timeout=60)
c.request("GET", "/metrics")
m = c.getresponse().read().decode()
c.close()
want("swarm-peer-metrics", re.search(r'^swarm_serve_peer_steps_total\{peer="127\.0\.0\.1:%s",blocks="0:2"\} [1-9]'
     % os.environ["N1"], m, re.M) and re.search(r'^swarm_serve_peer_step_seconds_total\{peer="127\.0\.0\.1:%s",blocks="2:5"\} '
     % os.environ["N2"], m, re.M), m)
def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", path)
    r = c.getresponse()
    d = r.read().decode()
    c.close()
    return r.status, d
s, d = get(int(os.environ["D"]), "/health")
want("swarm-health", s == 200 and json.loads(d)["coverage"] == "complete", d)
s, d = get(int(os.environ["E"]), "/health")
want("swarm-health-gap", s == 503 and "blocks 2:5 have no peer" in json.loads(d)["error"], d)
s2, ra2, d2 = post(int(os.environ["E"]), dict(body, stream=True))
want("swarm-gap-stream", s2 == 503 and ra2 == "1", (s2, d2))
s, ra, d = post(int(os.environ["E"]), body)
want("swarm-gap", s == 503 and ra is not None and "blocks 2:5 have no peer" in json.loads(d)["error"]["message"], (s, d))
sys.exit(0 if ok else 1)
PYEOF
exit $cli_failed
