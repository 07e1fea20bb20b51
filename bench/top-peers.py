# A simulated swarm for bench/bench-top.sh: N peers, each a listening
# socket on 127.0.0.1 answering GET /info with a node's status document
# and GET /status without the session list (HTTP/1.1, kept alive), serving spans of an 80-block model with rates
# that change on every answer. Writes "127.0.0.1:PORT" lines to FILE when
# every socket listens.
#
#   python3 bench/top-peers.py N FILE
import asyncio
import json
import random
import sys
import time

N_BLOCK = 80
MODEL = "llama-q4_0-0123456789ab"
started = time.monotonic()


def document(i, port, sessions):
    span = 8 + i % 8
    begin = (i * 7) % (N_BLOCK - span)
    tps = random.uniform(0, 200)
    rec = {"peer_id": "%064x" % (i + 1), "addr": "127.0.0.1:%d" % port,
           "model_id": MODEL, "block_begin": begin, "block_end": begin + span,
           "throughput": 900.0 + i, "load": 0.25, "free_sessions": 12,
           "free_cache_tokens": 49152, "state": "online", "version": "0.1.0",
           "timestamp": int(time.time())}
    st = {"uptime_seconds": time.monotonic() - started, "sessions": 4,
          "max_sessions": 16, "max_context": 4096,
          "tokens_processed": 1000 + i, "steps": 500, "compute_seconds": 1.5,
          "steps_running": 0, "threads": 2, "n_layer": N_BLOCK, "n_embd": 2048,
          "session_list": [{"block_begin": begin, "block_end": begin + span,
                            "length": 100, "max_length": 4096,
                            "idle_seconds": 0.5}] * 4,
          "tokens_per_second_10s": tps, "tokens_per_second_60s": tps / 2,
          "queue": 0, "errors": 0}
    if not sessions:
        del st["session_list"]
    return json.dumps({"protocol": 1, "record": rec, "status": st}).encode()


def handler(i):
    async def serve(reader, writer):
        port = writer.get_extra_info("sockname")[1]
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not head:
                    break
                path = head.split(b" ")[1]
                body = document(i, port, path == b"/info")
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: "
                             b"application/json\r\nContent-Length: %d\r\n\r\n"
                             % len(body) + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()
    return serve


async def main(n, path):
    addrs = []
    for i in range(n):
        srv = await asyncio.start_server(handler(i), "127.0.0.1", 0)
        addrs.append("127.0.0.1:%d" % srv.sockets[0].getsockname()[1])
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(addrs) + "\n")
    import os
    os.rename(path + ".tmp", path)
    await asyncio.Event().wait()


asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
