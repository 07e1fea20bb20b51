# swarm infer run --local on the real tiny Llama: the greedy golden text,
# JSON output, logits dump, seeded sampling and the usage errors.
. tests/cli/lib.sh
M=$MODELS/stories260K.gguf

expect golden 0 "$SWARM" infer run --local -m "$M" -n 200 --temp 0
check golden-text [ "$out" = "$(cat "$MODELS/golden/stories260K_run_t0_n200.expected.txt")" ]

expect json 0 "$SWARM" infer run --local -m "$M" -n 8 --temp 0 --json "Once upon"
check json-parses sh -c 'printf "%s" "$1" | python3 -c "
import json,sys
d=json.load(sys.stdin)
assert d[\"prompt_token_ids\"][:3]==[1,403,407], d[\"prompt_token_ids\"]
assert len(d[\"completion_token_ids\"])==8 and d[\"finish_reason\"]==\"length\"
u=d[\"usage\"]
assert u[\"prompt_tokens\"]==len(d[\"prompt_token_ids\"]) and u[\"completion_tokens\"]==8
assert u[\"total_tokens\"]==u[\"prompt_tokens\"]+8
assert d[\"timings\"][\"generation_tokens_per_second\"]>0
assert isinstance(d[\"text\"], str) and d[\"timings\"][\"prompt_seconds\"]>=0
"' _ "$out"

expect tokens 0 "$SWARM" infer run --local -m "$M" -n 8 --temp 0 --tokens 1,403,407
tokens_out=$out
expect same-as-text 0 "$SWARM" infer run --local -m "$M" -n 8 --temp 0 "Once upon"
check tokens-equal-text [ "$tokens_out" = "$out" ]

# -n 0 evaluates the prompt only: one row of logits per prompt token
expect dump 0 "$SWARM" infer run --local -m "$M" -n 0 --tokens 1,403,407 \
    --dump-logits "$SWARM_HOME/l.f32"
check dump-size [ "$(wc -c <"$SWARM_HOME/l.f32")" -eq $((3 * 512 * 4)) ]
check dump-matches-ref python3 -c "
import struct,sys
n=3*512
a=struct.unpack('<%df'%n, open('$SWARM_HOME/l.f32','rb').read())
r=struct.unpack('<%df'%n, open('$MODELS/ref/stories260K.logits.f32','rb').read()[33*512*4:(33*512+n)*4])
d=max(abs(x-y) for x,y in zip(a,r))
sys.exit(0 if d < 1e-4 else 1)
"
expect dump-gen 0 "$SWARM" infer run --local -m "$M" -n 4 --temp 0 --tokens 1,403,407 \
    --dump-logits "$SWARM_HOME/g.f32"
check dump-gen-rows [ "$(wc -c <"$SWARM_HOME/g.f32")" -eq $(( (3 + 3) * 512 * 4)) ]

expect seed-a 0 "$SWARM" infer run --local -m "$M" -n 30 --temp 1 --seed 7 "Once"
a=$out
expect seed-b 0 "$SWARM" infer run --local -m "$M" -n 30 --temp 1 --seed 7 "Once"
check same-seed-same-text [ "$a" = "$out" ]
expect stdin 0 sh -c "echo 'Once upon' | '$SWARM' infer run --local -m '$M' -n 4 --temp 0 -"
expect stop 0 "$SWARM" infer run --local -m "$M" -n 200 --temp 0 --stop "little"
check stop-cuts [ "$out" = "Once upon a time, there was a " ]

expect no-model 2 "$SWARM" infer run --local "hi"
expect bad-temp 2 "$SWARM" infer run --local -m "$M" --temp abc
expect missing-file 1 "$SWARM" infer run --local -m "$SWARM_HOME/nope.gguf"
check missing-file-msg sh -c "echo \"\$1\" | grep -q nope.gguf" _ "$err"
expect bad-token 1 "$SWARM" infer run --local -m "$M" --tokens 1,99999
# --json stays valid JSON when byte tokens make invalid UTF-8 (random model)
make -s "${BUILD:-build}/bench/gen-model" >/dev/null 2>&1
G=$SWARM_HOME/tiny.gguf
"${BUILD:-build}"/bench/gen-model --blocks 2 --embd 64 --ffn 128 --heads 4 \
    --kv-heads 4 --vocab 300 --type Q8_0 --seed 3 --out "$G" --quiet >/dev/null
expect json-bytes 0 "$SWARM" infer run --local -m "$G" -n 60 --temp 1 --seed 1 --json hello
check json-bytes-valid sh -c 'printf "%s" "$1" | python3 -c "import json,sys; assert len(json.load(sys.stdin)[\"completion_token_ids\"])>0"' _ "$out"

# --repack: the quantized matrices are repacked by default (the load line
# says how much), not with off or infer.repack false; both layouts give the
# same logits within the quantized reference tolerance (see test-model.c)
Q=$MODELS/synth/synth-llama-Q4_K_M.gguf
expect repack-on 0 "$SWARM" infer run --local -m "$Q" -n 0 --tokens 1,2,3,4 -v \
    --dump-logits "$SWARM_HOME/r1.f32"
check repack-on-said sh -c 'printf "%s" "$1" | grep -Eq "kernels, [1-9][0-9.]* MiB repacked"' _ "$err"
expect repack-off 0 "$SWARM" infer run --local -m "$Q" -n 0 --tokens 1,2,3,4 -v \
    --repack off --dump-logits "$SWARM_HOME/r0.f32"
check repack-off-said sh -c 'printf "%s" "$1" | grep -q "kernels, 0.0 MiB repacked"' _ "$err"
check repack-same-logits python3 -c "
import struct,sys
a=open('$SWARM_HOME/r1.f32','rb').read(); b=open('$SWARM_HOME/r0.f32','rb').read()
assert len(a)==len(b)>0
n=len(a)//4
x=struct.unpack('<%df'%n,a); y=struct.unpack('<%df'%n,b)
sys.exit(0 if max(abs(p-q) for p,q in zip(x,y)) < 5e-2 else 1)
"
expect repack-env-off 0 env SWARM_INFER_REPACK=false "$SWARM" infer run --local -m "$Q" -n 0 --tokens 1 -v
check repack-env-said sh -c 'printf "%s" "$1" | grep -q "0.0 MiB repacked"' _ "$err"
expect repack-bad 2 "$SWARM" infer run --local -m "$Q" -n 0 --tokens 1 --repack maybe

# precedence: flag > environment > file > default
"$SWARM" config set infer.temperature 0 >/dev/null
"$SWARM" config set infer.max_tokens 5 >/dev/null
expect conf-file 0 "$SWARM" infer run --local -m "$M" --json
check conf-file-tokens sh -c 'printf "%s" "$1" | python3 -c "import json,sys; assert len(json.load(sys.stdin)[\"completion_token_ids\"])==5"' _ "$out"
expect conf-env 0 env SWARM_INFER_MAX_TOKENS=3 "$SWARM" infer run --local -m "$M" --json
check conf-env-tokens sh -c 'printf "%s" "$1" | python3 -c "import json,sys; assert len(json.load(sys.stdin)[\"completion_token_ids\"])==3"' _ "$out"
expect conf-flag 0 env SWARM_INFER_MAX_TOKENS=3 "$SWARM" infer run --local -m "$M" --json -n 2
check conf-flag-tokens sh -c 'printf "%s" "$1" | python3 -c "import json,sys; assert len(json.load(sys.stdin)[\"completion_token_ids\"])==2"' _ "$out"
# --- the load's progress: drawn on a terminal, nothing in a pipe ------------
Q=$MODELS/synth/synth-llama-Q4_0.gguf
if command -v script >/dev/null 2>&1; then
	script -qec "\"$SWARM\" infer run --local -m \"$Q\" -n 1 --temp 0 hi" \
	    /dev/null >"$SWARM_HOME/tty.out" 2>&1
	check progress-on-terminal grep -q \
	    "loading synth-llama-Q4_0.gguf: 100% (" "$SWARM_HOME/tty.out"
else
	echo "SKIP progress on a terminal (no script)"
fi
expect progress-pipe 0 "$SWARM" infer run --local -m "$Q" -n 1 --temp 0 hi
check progress-not-in-pipe sh -c '! printf "%s" "$1" | grep -q "loading"' _ "$err"
exit $cli_failed
