# swarm shard info: the table and the JSON document on real test models,
# and the errors for a missing file, a file that is not GGUF and no
# arguments.
. tests/cli/lib.sh

S260=$MODELS/stories260K.gguf
Q4KM=$MODELS/synth/synth-llama-Q4_K_M.gguf
QWEN=$MODELS/synth/synth-qwen2-Q4_K_M.gguf

has() {
	printf '%s\n' "$out" | grep -q "$1"
}

expect table 0 "$SWARM" shard info "$S260"
check table-arch has '^architecture  *llama$'
check table-blocks has '^blocks  *5$'
check table-dims has '^embedding  *64$'
check table-ffn has '^ffn  *172$'
check table-heads has '^kv heads  *4$'
check table-rope has '^rope  *theta -, dims 8, scaling none$'
check table-vocab has '^vocabulary  *llama, 512 tokens, BOS 1, EOS 2$'
check table-template has '^chat template  *no$'
check table-group has '^attention q  *5  *F32'
check table-per-block has '^per block .* average'
check table-total has '^total '

# Runs python3 on the JSON in $out; the script's exit status is the check.
json() {
	printf '%s\n' "$out" | python3 -c "import json, sys
d = json.load(sys.stdin)
sys.exit(0 if ($1) else 1)"
}

expect json-s260 0 "$SWARM" shard info --json "$S260"
check json-s260-blocks json 'd["block_count"] == 5 and d["architecture"] == "llama"'
check json-s260-dims json 'd["embedding_length"] == 64 and d["head_count"] == 8 and d["head_count_kv"] == 4 and d["head_dim"] == 8'
check json-s260-vocab json 'd["vocab"]["size"] == 512 and d["vocab"]["bos_token_id"] == 1 and not d["chat_template"]'
check json-s260-bytes json 'sum(d["block_bytes"]["per_block"]) + d["outside_block_bytes"] == d["tensor_bytes"] and d["tensor_bytes"] <= d["file_bytes"]'
check json-s260-groups json 'd["groups"]["ffn_down"]["tensors"] == 5 and d["groups"]["ffn_down"]["types"] == {"F32": 5 * 172 * 64 * 4}'

expect json-q4km 0 "$SWARM" shard info "$Q4KM" -j
check json-q4km-blocks json 'd["block_count"] == 4 and d["file_type_name"] == "Q4_K_M"'
check json-q4km-types json 'set(d["groups"]["ffn_down"]["types"]) <= {"Q4_K", "Q6_K"} and "Q4_K" in d["groups"]["attn_q"]["types"]'
check json-q4km-max json 'd["block_bytes"]["max"] >= d["block_bytes"]["average"] > 0'

expect json-qwen2 0 "$SWARM" shard info --json "$QWEN"
check json-qwen2-arch json 'd["architecture"] == "qwen2" and d["rope"]["freq_base"] == 1e6 and d["rms_norm_eps"] == 1e-6'

# A file written here by an independent writer: per-block FFN widths and
# head counts (as some architectures have), a bias, a tensor of no known
# role, and block tensors of unequal size.
python3 - "$SWARM_HOME/perblock.gguf" <<'PY'
import struct, sys
def s(x):
    b = x.encode()
    return struct.pack("<Q", len(b)) + b
kv = [
    ("general.architecture", 8, s("tiny")),
    ("tiny.block_count", 4, struct.pack("<I", 2)),
    ("tiny.embedding_length", 4, struct.pack("<I", 32)),
    ("tiny.feed_forward_length", 9, struct.pack("<IQ", 5, 2) + struct.pack("<ii", 64, 96)),
    ("tiny.attention.head_count", 9, struct.pack("<IQ", 4, 2) + struct.pack("<II", 4, 4)),
    ("tokenizer.chat_template", 8, s("{{ messages }}")),
]
tensors = [("blk.0.ffn_up.weight", [32, 64]), ("blk.1.ffn_up.weight", [32, 96]),
           ("blk.1.attn_q.bias", [32]), ("blk.0.mystery.weight", [32])]
out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv))
for k, t, v in kv:
    out += s(k) + struct.pack("<I", t) + v
off = 0
for name, ne in tensors:
    n = 1
    for d in ne:
        n *= d
    out += s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
    out += struct.pack("<IQ", 0, off)
    off += (n * 4 + 31) // 32 * 32
out += b"\0" * (-len(out) % 32) + b"\0" * off
open(sys.argv[1], "wb").write(out)
PY
expect perblock 0 "$SWARM" shard info "$SWARM_HOME/perblock.gguf"
check perblock-ffn has '^ffn  *64 to 96 by block$'
check perblock-heads has '^heads  *4 in every block$'
check perblock-kvheads has '^kv heads  *-$'
check perblock-template has '^chat template  *yes'
check perblock-other has '^other  *1  *F32'
check perblock-max has '^per block .*(block 1)$'
expect perblock-json 0 "$SWARM" shard info --json "$SWARM_HOME/perblock.gguf"
check perblock-json-ffn json 'd["feed_forward_length"] == [64, 96] and d["head_count_kv"] is None and d["head_dim"] is None'
check perblock-json-blocks json 'd["block_bytes"]["per_block"] == [32 * 64 * 4 + 128, 32 * 96 * 4 + 128] and d["block_bytes"]["max_block"] == 1'
check perblock-json-bias json 'd["groups"]["attn_q"]["bytes"] == 128 and d["chat_template"]'

expect missing 1 "$SWARM" shard info "$SWARM_HOME/nope.gguf"
check missing-message sh -c "echo \"\$1\" | grep -q \"cannot open '.*nope.gguf'\"" _ "$err"
check missing-no-stdout [ -z "$out" ]
printf 'not a model at all, just text\n' >"$SWARM_HOME/bad.gguf"
expect not-gguf 1 "$SWARM" shard info "$SWARM_HOME/bad.gguf"
check not-gguf-message sh -c "echo \"\$1\" | grep -q 'not a GGUF file'" _ "$err"
expect no-args 2 "$SWARM" shard info
check no-args-usage sh -c "echo \"\$1\" | grep -q '^usage: swarm shard info'" _ "$err"
expect two-args 2 "$SWARM" shard info "$S260" "$S260"
exit $cli_failed
