# bench/gen-model, the random-weight model generator behind `make bench`:
# tiny models in every type it makes load, tokenize text and run in
# `swarm infer run`; the per-tensor type mix follows llama.cpp's; the same
# parameters give the same bytes whatever the thread count, and a cached
# file is reused.
. tests/cli/lib.sh
BUILD=${BUILD:-build}
GEN=$PWD/$BUILD/bench/gen-model
D=$SWARM_HOME/models
SHAPE="--blocks 2 --embd 64 --ffn 128 --heads 4 --kv-heads 2 --vocab 300"

expect build 0 make -s "$BUILD/bench/gen-model"
[ -x "$GEN" ] || exit 1

has_shard_info=0
"$SWARM" help 2>/dev/null | grep -q "shard info" && has_shard_info=1

for t in F32 F16 Q8_0 Q4_0 Q4_K_M; do
	expect "gen-$t" 0 "$GEN" -q --dir "$D" $SHAPE --type "$t"
	m=$out
	check "gen-$t-file" [ -s "$m" ]
	expect "run-$t" 0 "$SWARM" infer run --local -m "$m" -n 4 --temp 0 \
	    "hello"
	# 3 prompt rows and 3 generated ones of 300 finite logits
	expect "dump-$t" 0 "$SWARM" infer run --local -m "$m" -n 4 --temp 0 \
	    --tokens 1,260,290 --dump-logits "$SWARM_HOME/$t.f32"
	check "logits-$t" python3 -c "
import math, struct, sys
b = open('$SWARM_HOME/$t.f32', 'rb').read()
v = struct.unpack('<%df' % (len(b) // 4), b)
sys.exit(0 if len(v) == 6 * 300 and all(map(math.isfinite, v))
         and max(v) > min(v) else 1)"
	if [ "$has_shard_info" = 1 ]; then
		expect "shard-$t" 0 "$SWARM" shard info "$m"
		check "shard-$t-blocks" sh -c 'echo "$1" | grep -q "^blocks  *2$"' \
		    _ "$out"
	fi
done

# llama.cpp's Q4_K_M mix on rows that fit K-quant blocks: Q4_K, with
# attn_v and ffn_down of the last layer and the output in Q6_K.
if [ "$has_shard_info" = 1 ]; then
	expect gen-kquant 0 "$GEN" -q --dir "$D" --blocks 2 --embd 256 \
	    --ffn 256 --heads 4 --vocab 300 --type Q4_K_M
	expect shard-kquant 0 "$SWARM" shard info "$out"
	check kquant-mix sh -c 'echo "$1" | grep -q "^attention v .*Q4_K, Q6_K" &&
	    echo "$1" | grep -q "^output .*Q6_K" &&
	    echo "$1" | grep -q "^token embedding .*Q4_K"' _ "$out"
fi

# a second call reuses the file; threads do not change the bytes; the
# seed does
expect reuse 0 "$GEN" --dir "$D" $SHAPE --type Q4_0
check reuse-msg sh -c 'echo "$1" | grep -q reusing' _ "$err"
q40=$out
expect threads-1 0 "$GEN" -q --threads 1 --out "$SWARM_HOME/t1.gguf" $SHAPE \
    --type Q4_0
check same-bytes cmp -s "$q40" "$SWARM_HOME/t1.gguf"
expect seed 0 "$GEN" -q --seed 7 --out "$SWARM_HOME/s7.gguf" $SHAPE \
    --type Q4_0
check seed-differs sh -c '! cmp -s "$1" "$2"' _ "$q40" "$SWARM_HOME/s7.gguf"

expect bad-type 2 "$GEN" --type Q3_K
expect bad-shape 1 "$GEN" -q --out "$SWARM_HOME/x.gguf" --embd 64 --heads 3
exit $cli_failed
