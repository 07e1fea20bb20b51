# The README's code blocks, run as a new user pastes them: taken from
# README.md itself, in order, in one shell, each command checked to exit 0.
# What changes: ./swarm is the binary under test, ../shared/models is the
# test data, the ports are free ones chosen now, and `make deps`, `make` and
# `make test` are left out (the binary is built; the suite is running).
# Then what the README says of the output is checked: the text through the
# swarm equals --local's, and the API answers a chat completion.
. tests/cli/lib.sh

export README_SWARM="$SWARM" README_MODELS="$MODELS" README_OUT="$SWARM_HOME/out"
mkdir -p "$README_OUT"
check readme-script python3 - <<'PYEOF'
import os, re, socket, sys

text = open("README.md").read()
blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
# ports the README uses, each replaced by one free for TCP and UDP now
used = sorted(set(re.findall(r"127\.0\.0\.1:(\d{4,5})", "".join(blocks))))
ports = {}
for p in used:
    while True:
        t = socket.socket()
        t.bind(("127.0.0.1", 0))
        free = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", free))
        except OSError:
            t.close()
            continue
        t.close()
        u.close()
        break
    ports[p] = str(free)
out = os.environ["README_OUT"]
lines = ["set -u", "cd %s" % os.getcwd()]
n = 0
for b in blocks:
    cmds = re.sub(r"\\\n\s*", " ", b).split("\n")
    for c in cmds:
        c = c.split("  #")[0].strip()
        if not c or c.startswith("#"):
            continue
        c = re.sub(r"^make deps && make && ", "", c)
        if re.fullmatch(r"make( test| -j\S+)?", c):
            continue
        c = re.sub(r"(^|\s)\./swarm\b", r'\1"$README_SWARM"', c)
        c = c.replace("../shared/models", "$README_MODELS")
        c = re.sub(r"127\.0\.0\.1:(\d{4,5})",
                   lambda m: "127.0.0.1:" + ports.get(m.group(1), m.group(1)), c)
        n += 1
        lines.append("echo %d >%s/last" % (n, out))
        with open("%s/%d.cmd" % (out, n), "w") as f:
            f.write(c + "\n")
        if c.endswith("&"):
            lines.append("%s >%s/%d.out 2>%s/%d.err &" % (c[:-1].strip(), out, n, out, n))
        else:
            lines.append("%s >%s/%d.out 2>%s/%d.err || { echo \"command %d failed: $?\"; exit 1; }"
                         % (c, out, n, out, n, n))
lines.append("echo done")
open(out + "/script.sh", "w").write("\n".join(lines) + "\n")
print("  %d commands from %d blocks" % (n, len(blocks)), file=sys.stderr)
PYEOF
setsid bash "$README_OUT/script.sh" >"$README_OUT/script.log" 2>&1 &
spid=$!
track $spid
wait $spid
rc=$?
# The README leaves nodes and a server running in the background: stop
# them, all in the script's own process group (dash's kill takes "-PGID",
# not "-- -PGID").
kill -TERM "-$spid" 2>/dev/null
sleep 0.5
kill -KILL "-$spid" 2>/dev/null
check readme-commands-succeed [ $rc -eq 0 ]
if [ $rc -ne 0 ]; then
	last=$(cat "$README_OUT/last")
	echo "  failed: $(cat "$README_OUT/$last.cmd")" >&2
	sed 's/^/  /' "$README_OUT/$last.err" "$README_OUT/script.log" >&2
fi
# the two runs the README says print the same text
swarm_run=$(grep -l -- '--bootstrap 127.0.0.1:[0-9]* --temp 0' "$README_OUT"/*.cmd | head -1)
local_run=$(grep -l -- '--local --temp 0' "$README_OUT"/*.cmd | head -1)
check readme-swarm-equals-local sh -c '[ -s "$1" ] && cmp -s "$1" "$2"' _ \
    "${swarm_run%.cmd}.out" "${local_run%.cmd}.out"
chat=$(grep -l 'chat/completions' "$README_OUT"/*.cmd | head -1)
check readme-api-answers sh -c 'python3 -c "import json,sys
d = json.load(open(sys.argv[1]))
assert d[\"choices\"][0][\"message\"][\"content\"]" "$1"' _ "${chat%.cmd}.out"
exit $cli_failed
