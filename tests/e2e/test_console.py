"""The operator console (docs/console.md): cordond serves web/ at / and
/console/{file} without a token, with content types, and refuses traversal.
When /usr/bin/chromium exists, a headless Chromium renders the token prompt."""
import http.client
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
from cordond_harness import Cordond  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.getheader("Content-Type") or "", r.getheader("Cache-Control") or "", r.read()
    finally:
        c.close()


class T(h.Test):
    def setup(self, extra=""):
        self.tmp = h.TempDir()
        self.broker = h.CordonBroker(self.tmp)
        self.d = Cordond(self.tmp, self.broker.port, extra=extra)
        return self.d.api_port

    def test_1_assets(self):
        port = self.setup()
        st, ct, cc, body = get(port, "/")
        assert st == 200 and ct.startswith("text/html"), (st, ct)
        assert cc.startswith("no-"), cc
        assert b'id="login"' in body and b"/console/console.js" in body, body[:200]
        for name, typ in (("index.html", "text/html"), ("console.css", "text/css"),
                          ("console.js", "text/javascript")):
            st, ct, _, body = get(port, "/console/" + name)
            assert st == 200 and ct.startswith(typ) and body, (name, st, ct)
        # the API still asks for a token
        st, _, _, _ = get(port, "/api/v1/incidents")
        assert st == 401, st

    def test_2_traversal(self):
        port = self.setup()
        secret = os.path.join(str(self.tmp), "secret.txt")
        with open(secret, "w") as f:
            f.write("top secret")
        for path in ("/console/../../etc/passwd", "/console/..%2F..%2Fetc%2Fpasswd",
                     "/console/%2Fetc%2Fpasswd", "/console/..", "/console/.%2E",
                     "/console/nothere.js", "/console/",
                     "/console/CMakeLists.txt", "/console/%2E%2E%2Fcordond.yaml",
                     "/../../etc/passwd", "/console/..%2Fsecret.txt"):
            st, _, _, body = get(port, path)
            assert st in (400, 404, 414), (path, st)
            assert b"root:" not in body and b"top secret" not in body, path
        # a NUL ends the path before cordond's router sees it (libmicrohttpd decodes it):
        # at most the file named before it is served, never anything outside the root
        st, ct, _, body = get(port, "/console/index.html%00.js")
        assert st == 404 or (st == 200 and ct.startswith("text/html")), (st, ct)
        st, _, _, body = get(port, "/console/..%00/cordond.yaml")
        assert st in (400, 404) and b"broker" not in body, st

    def test_3_web_root_config(self):
        root = os.path.join(str(h.TempDir()), "web")
        os.mkdir(root)
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write("<!doctype html><p>custom root</p>")
        os.symlink("/etc/passwd", os.path.join(root, "link.txt"))
        port = self.setup(extra=f"console:\n  web_root: {root}\n")
        st, _, _, body = get(port, "/")
        assert st == 200 and b"custom root" in body, (st, body)
        st, _, _, body = get(port, "/console/link.txt")
        assert st == 404 and b"root:" not in body, st

    def test_4_chromium(self):
        if not os.path.exists(CHROMIUM):
            print("  (chromium missing: headless render check skipped)")
            return
        port = self.setup()
        prof = h.TempDir()
        out = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={prof}", "--virtual-time-budget=3000",
             "--dump-dom", f"http://127.0.0.1:{port}/"],
            capture_output=True, timeout=45, text=True)
        dom = out.stdout
        assert 'id="login-form"' in dom and 'data-console="ready"' in dom, dom[:500] + out.stderr[-500:]


if __name__ == "__main__":
    T().main()
