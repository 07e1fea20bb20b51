# A misbehaving swarm node for tests/cli/test-swarm.sh, on 127.0.0.1 at a
# free port (written to PORT_FILE). MODE:
#   junk-info   GET /info answers text that is not JSON
#   garbage     a plausible record and session, then steps answered with junk
#   width       steps answered with a well-formed frame of the wrong width
#   nan, inf, huge  steps answered with well-formed frames whose hidden
#               states are NaN, +Inf or 3e38 (f32 on the wire)
#   lie         a liar: sessions and steps go to the real node at
#               $STUB_UPSTREAM (host:port), whose answers come back with
#               every hidden state times 1.25 (plausible, but wrong)
# usage: python3 swarm-stub.py MODE PORT_FILE MODEL_ID BEGIN END
import http.client, http.server, json, os, struct, sys, time

mode, port_file, model_id = sys.argv[1], sys.argv[2], sys.argv[3]
begin, end = int(sys.argv[4]), int(sys.argv[5])


class Stub(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if mode == "junk-info":
            return self.answer(200, b"hello, I am not a node", "text/plain")
        rec = {"peer_id": "", "addr": "127.0.0.1:%d" % self.server.server_port,
               "model_id": model_id, "block_begin": begin, "block_end": end,
               "throughput": 1e9, "load": 0.0, "free_sessions": 8,
               "free_cache_tokens": 100000, "state": "online",
               "version": "stub", "timestamp": int(time.time())}
        self.answer(200, json.dumps({"protocol": 1, "record": rec,
                                     "status": {}}).encode())

    def upstream(self, method, body=None):
        host, port = os.environ["STUB_UPSTREAM"].rsplit(":", 1)
        c = http.client.HTTPConnection(host, int(port), timeout=60)
        h = {"Content-Type": self.headers.get("Content-Type", "application/json")}
        c.request(method, self.path, body=body, headers=h)
        r = c.getresponse()
        d = r.read()
        ctype = r.getheader("Content-Type", "application/json")
        c.close()
        return r.status, d, ctype

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        if self.path.endswith("/route") and mode != "lie":
            # a node from before push: the client goes hop by hop
            return self.answer(404, json.dumps({"error": {
                "code": "not_found", "message": "no such endpoint"}}).encode())
        if mode == "lie":
            status, d, ctype = self.upstream("POST", body)
            if status == 200 and self.path.endswith("/step") and len(d) >= 48:
                vals = struct.unpack_from("<%df" % ((len(d) - 48) // 4), d, 48)
                d = d[:48] + struct.pack("<%df" % len(vals), *[v * 1.25 for v in vals])
            return self.answer(status, d, ctype)
        if self.path == "/sessions":
            width = int(os.environ.get("STUB_WIDTH", "64"))
            return self.answer(200, json.dumps({"session_id": "00000000000000aa",
                                                "width": width}).encode())
        if mode == "width" and len(body) >= 48:
            ntok, width = struct.unpack_from("<II", body, 8)
            hdr = bytearray(body[:48])
            struct.pack_into("<I", hdr, 12, width - 1)
            return self.answer(200, bytes(hdr) + b"\0" * (4 * ntok * (width - 1)),
                               "application/x-swarm-step")
        if mode in ("nan", "inf", "huge") and len(body) >= 48:
            ntok, width = struct.unpack_from("<II", body, 8)
            v = {"nan": float("nan"), "inf": float("inf"), "huge": 3e38}[mode]
            hdr = bytearray(body[:48])
            struct.pack_into("<H", hdr, 6, 0)
            return self.answer(200, bytes(hdr) + struct.pack("<f", v) * (ntok * width),
                               "application/x-swarm-step")
        self.answer(200, b"\x00garbage" * 7, "application/x-swarm-step")

    def do_DELETE(self):
        if mode == "lie":
            return self.answer(*self.upstream("DELETE"))
        self.answer(200, b"{}")


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_port)
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
