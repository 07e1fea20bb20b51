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
