# swarm infer tokenize on the vocabulary-only test files and a real model:
# the ids of llama.cpp's vectors, BOS rules, special tokens, stdin, decoding,
# JSON, and the errors.
. tests/cli/lib.sh
V=$MODELS/vocab
L3=$V/ggml-vocab-llama-bpe.gguf
QW=$V/ggml-vocab-qwen2.gguf

expect llama3 0 "$SWARM" infer tokenize -m "$L3" "Hello world"
check llama3-ids [ "$out" = "128000,9906,1917" ]
expect no-bos 0 "$SWARM" infer tokenize -m "$L3" --no-bos "Hello world"
check no-bos-ids [ "$out" = "9906,1917" ]
# Qwen2 adds no BOS
expect qwen2 0 "$SWARM" infer tokenize -m "$QW" " Hello world"
check qwen2-ids [ "$out" = "21927,1879" ]
expect gpt2 0 "$SWARM" infer tokenize -m "$V/ggml-vocab-gpt-2.gguf" --no-bos "Hello world"
check gpt2-ids [ "$out" = "15496,995" ]
expect spm 0 "$SWARM" infer tokenize -m "$MODELS/stories260K.gguf" "Once upon"
check spm-ids [ "$out" = "1,403,407" ]

# special tokens only with --special
expect special 0 "$SWARM" infer tokenize -m "$QW" --special "<|im_start|>user"
check special-ids [ "$out" = "151644,872" ]
expect plain 0 "$SWARM" infer tokenize -m "$QW" "<|im_start|>user"
check plain-ids sh -c 'case "$1" in *151644*) exit 1;; esac; [ -n "$1" ]' _ "$out"

# standard input is read byte for byte, the trailing newline included
expect stdin 0 sh -c "printf 'Hello world\n' | '$SWARM' infer tokenize -m '$L3' --no-bos -"
check stdin-ids [ "$out" = "9906,1917,198" ]

# every case of llama.cpp's vectors, through the command
ok=1
n=0
python3 - "$V/ggml-vocab-llama-bpe.gguf.inp" "$SWARM_HOME/case" <<'PY'
import sys
cases = open(sys.argv[1], 'rb').read().split(b'\n__ggml_vocab_test__\n')[:-1]
for i, c in enumerate(cases):
    open('%s.%d' % (sys.argv[2], i), 'wb').write(c)
PY
while IFS= read -r want; do
	got=$("$SWARM" infer tokenize -m "$L3" --no-bos - <"$SWARM_HOME/case.$n")
	# shellcheck disable=SC2086
	[ "$got" = "$(printf '%s\n' $want | paste -sd, -)" ] || { ok=0; echo "  case $n: got $got, want $want"; }
	n=$((n + 1))
done <"$V/ggml-vocab-llama-bpe.gguf.out"
check vectors-through-cli [ "$ok" = 1 -a "$n" = 46 ]

# decoding
expect decode 0 "$SWARM" infer tokenize -m "$L3" --decode 128000,9906,1917
check decode-text [ "$out" = "Hello world" ]
expect decode-special 0 "$SWARM" infer tokenize -m "$L3" --special --decode 128000,9906,1917
check decode-special-text [ "$out" = "<|begin_of_text|>Hello world" ]
text=$(printf 'caf\303\251 \360\237\230\200  x')
expect decode-round 0 sh -c '"$1" infer tokenize -m "$2" --decode "$("$1" infer tokenize -m "$2" "$3")"' _ "$SWARM" "$QW" "$text"
check decode-round-text [ "$out" = "$text" ]

# 100 KB of random bytes come back byte for byte (ids through --decode -)
head -c 100000 /dev/urandom >"$SWARM_HOME/rand"
"$SWARM" infer tokenize -m "$L3" --no-bos - <"$SWARM_HOME/rand" >"$SWARM_HOME/rand.ids"
expect decode-stdin 0 sh -c '"$1" infer tokenize -m "$2" --decode - <"$3" >"$4"' _ \
    "$SWARM" "$L3" "$SWARM_HOME/rand.ids" "$SWARM_HOME/rand.out"
check random-bytes-lossless cmp -s "$SWARM_HOME/rand" "$SWARM_HOME/rand.out"

# JSON: ids with pieces and texts; bytes where a piece is not UTF-8
expect json 0 "$SWARM" infer tokenize -m "$L3" --json "Hi 😀"
check json-doc python3 -c "
import json, sys
d = json.loads(sys.argv[1])
assert d['n_tokens'] == len(d['tokens']) and d['text'] == 'Hi 😀', d
t = d['tokens']
assert t[0]['id'] == 128000 and t[0]['piece'] == '<|begin_of_text|>'
assert t[1]['text'] == 'Hi' and ''.join(x.get('text', '') for x in t[1:]) .startswith('Hi')
" "$out"
expect json-bytes 0 "$SWARM" infer tokenize -m "$L3" --json --decode 9468
check json-bytes-doc python3 -c "
import json, sys
d = json.loads(sys.argv[1])
assert 'bytes' in d['tokens'][0] or 'text' in d['tokens'][0], d
" "$out"

# infer run --chat: the prompt the model sees is the rendered template,
# with its markers parsed and BOS once
S260=$MODELS/stories260K.gguf
expect chat-llama2 0 "$SWARM" infer run --local -m "$S260" -n 1 --temp 0 --json \
    --template llama2 --system "Be brief." "Once upon"
chat_out=$out
expect chat-llama2-ids 0 "$SWARM" infer tokenize -m "$S260" --special --no-bos \
    "$(printf '<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nOnce upon [/INST]')"
check chat-llama2-prompt python3 -c "
import json, sys
d = json.loads(sys.argv[1])
want = [int(x) for x in sys.argv[2].split(',')]
assert d['prompt_token_ids'] == want and want[0] == 1 and want[1] != 1, (d['prompt_token_ids'], want)
" "$chat_out" "$out"
# no template in the file: ChatML, a warning, and BOS added
expect chat-fallback 0 "$SWARM" infer run --local -m "$S260" -n 1 --temp 0 --json --chat "Hi"
check chat-fallback-warns sh -c 'echo "$1" | grep -q "warning: .*chatml"' _ "$err"
check chat-fallback-bos python3 -c "
import json, sys
assert json.loads(sys.argv[1])['prompt_token_ids'][0] == 1
" "$out"
expect chat-bad-template 1 "$SWARM" infer run --local -m "$S260" --template jinja "Hi"
expect chat-tokens 2 "$SWARM" infer run --local -m "$S260" --chat --tokens 1,2

# errors
expect no-model 2 "$SWARM" infer tokenize "hi"
expect no-text 2 "$SWARM" infer tokenize -m "$L3"
expect both 2 "$SWARM" infer tokenize -m "$L3" --decode 1 "hi"
expect bad-id 1 "$SWARM" infer tokenize -m "$L3" --decode 1,999999
check bad-id-msg sh -c 'echo "$1" | grep -q "out of range"' _ "$err"
expect bad-list 1 "$SWARM" infer tokenize -m "$L3" --decode 1,x
expect missing 1 "$SWARM" infer tokenize -m "$SWARM_HOME/nope.gguf" "hi"
exit $cli_failed
