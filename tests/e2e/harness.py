"""Shared helpers for Cordon's end-to-end tests.

Real processes on 127.0.0.1, free ports, private temp dirs; everything a test
starts is stopped when the test ends (context managers, plus an atexit sweep),
so two runs can go at once and none leaves a process behind.

Environment (set by ctest): CORDON_BUILD (build dir: bin/, lib/) and
CORDON_SRC (source dir).
"""
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("CORDON_SRC", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.environ.get("CORDON_BUILD", os.path.join(SRC, "build"))
BIN = os.path.join(BUILD, "bin")
PLUGIN = os.path.join(BUILD, "lib", "cordon_mosquitto.so")
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"

_procs = []


def _sweep():
    for p in list(_procs):
        p.stop()


atexit.register(_sweep)
for _sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(_sig, lambda *_: sys.exit(1))


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0, proc=None):
    """Wait until 127.0.0.1:port accepts connections; raise with the log if not."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.name} exited ({proc.poll()}) before listening:\n{proc.log()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s"
                       + (f"\n{proc.log()}" if proc else ""))


def wait_for(pred, timeout=10.0, interval=0.05, what="condition"):
    """Poll pred() until it returns a truthy value; return it or raise."""
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class TempDir:
    """A private temp dir, removed at exit unless CORDON_KEEP_TMP is set."""

    def __init__(self, prefix="cordon-e2e-"):
        self.path = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.path, 0o755)
        if not os.environ.get("CORDON_KEEP_TMP"):
            atexit.register(shutil.rmtree, self.path, True)

    def __str__(self):
        return self.path

    def file(self, name, content=None, mode=None):
        p = os.path.join(self.path, name)
        if content is not None:
            with open(p, "w" if isinstance(content, str) else "wb") as f:
                f.write(content)
            if mode is not None:
                os.chmod(p, mode)
        return p


class Proc:
    """A child process whose stdout+stderr go to a log file in `tmp`."""

    def __init__(self, name, argv, tmp, env=None, cwd=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.logpath = os.path.join(str(tmp), f"{name}.log")
        self._logf = open(self.logpath, "ab")
        e = dict(os.environ)
        if env:
            e.update(env)
        self.p = subprocess.Popen(self.argv, stdout=self._logf, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env=e, cwd=cwd,
                                  start_new_session=True)
        _procs.append(self)

    @property
    def pid(self):
        return self.p.pid

    def poll(self):
        return self.p.poll()

    def log(self):
        try:
            with open(self.logpath, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def send_signal(self, sig):
        if self.p.poll() is None:
            os.kill(self.p.pid, sig)

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Stop the process (and its process group); return its exit code."""
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.p.wait()
        if self in _procs:
            _procs.remove(self)
        self._logf.close()
        return self.p.returncode

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Mosquitto(Proc):
    """Debian's mosquitto on a free 127.0.0.1 port, with cordon_mosquitto.so
    loaded unless plugin=False. `opts` become plugin_opt_* lines; `extra` is
    appended to mosquitto.conf verbatim."""

    def __init__(self, tmp, plugin=True, opts=None, extra="", port=None, name="mosquitto"):
        self.tmp = str(tmp)
        self.port = port or free_port()
        conf = [
            "per_listener_settings false",
            f"listener {self.port} 127.0.0.1",
            "persistence false",
            "log_dest stderr",
            "log_type all",
            "connection_messages true",
        ]
        if os.geteuid() == 0:
            conf.append("user root")
        if plugin:
            if not os.path.exists(PLUGIN):
                raise RuntimeError(f"plugin not built: {PLUGIN}")
            conf.append(f"plugin {PLUGIN}")
            for k, v in (opts or {}).items():
                conf.append(f"plugin_opt_{k} {v}")
        else:
            conf.append("allow_anonymous true")
        if extra:
            conf.append(extra)
        self.conf = os.path.join(self.tmp, f"{name}.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(conf) + "\n")
        super().__init__(name, [MOSQUITTO, "-c", self.conf], self.tmp)
        wait_port(self.port, proc=self)

    def restart(self):
        """Stop and start again on the same port with the same config."""
        self.stop()
        self._logf = open(self.logpath, "ab")
        self.p = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdout=self._logf,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  start_new_session=True)
        _procs.append(self)
        wait_port(self.port, proc=self)


def _auth_args(user=None, password=None, client_id=None, v5=False):
    a = []
    if user is not None:
        a += ["-u", user]
    if password is not None:
        a += ["-P", password]
    if client_id is not None:
        a += ["-i", client_id]
    if v5:
        a += ["-V", "mqttv5"]
    return a


def mqtt_pub(port, topic, payload, qos=1, user=None, password=None, client_id=None, v5=False,
             timeout=10):
    """Publish one message with mosquitto_pub; return CompletedProcess (check
    returncode/stderr: a denied MQTT 5 QoS 1 publish is reported there)."""
    argv = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-q", str(qos),
            "-m", payload] + _auth_args(user, password, client_id, v5)
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


class Subscriber(Proc):
    """mosquitto_sub in the background, printing `topic payload` lines."""

    _n = 0

    def __init__(self, tmp, port, topics, user=None, password=None, client_id=None, v5=False,
                 name=None):
        Subscriber._n += 1
        argv = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-v", "-q", "1"]
        for t in ([topics] if isinstance(topics, str) else topics):
            argv += ["-t", t]
        argv += _auth_args(user, password, client_id, v5)
        super().__init__(name or f"sub{Subscriber._n}", argv, tmp)
        time.sleep(0.3)  # let the SUBSCRIBE reach the broker

    def lines(self):
        return [l for l in self.log().splitlines() if l.strip()]

    def messages(self, topic_prefix=""):
        out = []
        for l in self.lines():
            t, _, payload = l.partition(" ")
            if t.startswith(topic_prefix):
                out.append((t, payload))
        return out

    def wait(self, pred=lambda msgs: msgs, timeout=10.0, topic_prefix="", what="messages"):
        return wait_for(lambda: pred(self.messages(topic_prefix)), timeout, what=what)


def run(argv, check=True, timeout=60, **kw):
    """Run a command; on failure raise with its output."""
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{argv} exited {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}")
    return r


class Test:
    """Minimal runner: subclasses define test_* methods; main() runs them in
    order, prints one line per test and 'N passed, N failed' at the end."""

    def main(self):
        names = [n for n in sorted(dir(self)) if n.startswith("test_")]
        only = sys.argv[1:]
        if only:
            names = [n for n in names if n in only]
        passed = failed = 0
        for n in names:
            t0 = time.time()
            try:
                getattr(self, n)()
                passed += 1
                print(f"PASS {n} ({time.time() - t0:.1f}s)", flush=True)
            except Exception as e:  # noqa: BLE001 - report every failure
                failed += 1
                import traceback
                print(f"FAIL {n} ({time.time() - t0:.1f}s): {e}", flush=True)
                traceback.print_exc()
            finally:
                _sweep()
        print(f"{passed} passed, {failed} failed")
        sys.exit(1 if failed else 0)


# ---- Cordon broker (cordon_mosquitto.so) helpers ---------------------------

CONTROL_TOPIC = "$CONTROL/cordon/v1"
CONTROL_RESPONSE_TOPIC = "$CONTROL/cordon/v1/response"
CONTROL_METRICS_TOPIC = "$CONTROL/cordon/v1/metrics"
SERVER_IDENTITY = "cordond"
SERVER_PASSWORD = "server-secret"


class CordonBroker(Mosquitto):
    """Mosquitto with the plugin configured for tests: a state file in tmp,
    the server identity `cordond` with SERVER_PASSWORD (plaintext file),
    1 s metrics and cheap Argon2id parameters. `opts` override/extend the
    plugin_opt_* lines."""

    def __init__(self, tmp, opts=None, **kw):
        tmpdir = str(tmp)
        pw = os.path.join(tmpdir, "server.pass")
        if not os.path.exists(pw):
            with open(pw, "w") as f:
                f.write(SERVER_PASSWORD + "\n")
        self.state_file = os.path.join(tmpdir, "broker-state.json")
        o = {
            "state_file": self.state_file,
            "server_identity": SERVER_IDENTITY,
            "server_password_file": pw,
            "metrics_interval": 1,
            "pwhash_opslimit": 1,
            "pwhash_memlimit": 8192,
        }
        o.update(opts or {})
        super().__init__(tmp, plugin=True, opts=o, **kw)


class Control:
    """Control channel client: publishes {"commands":[...]} as the server
    identity and returns the parsed {"responses":[...]} that answers it."""

    def __init__(self, tmp, port, user=SERVER_IDENTITY, password=SERVER_PASSWORD):
        self.port, self.user, self.password = port, user, password
        self.sub = Subscriber(tmp, port, CONTROL_RESPONSE_TOPIC, user=user, password=password,
                              v5=True, name=f"control-{port}")

    def send_raw(self, payload, timeout=10):
        import json
        before = len(self.sub.messages(CONTROL_RESPONSE_TOPIC))
        r = mqtt_pub(self.port, CONTROL_TOPIC, payload, user=self.user, password=self.password,
                     v5=True)
        if r.returncode != 0 or r.stderr.strip():
            raise AssertionError(f"control publish failed: {r.returncode} {r.stderr}")
        msgs = self.sub.wait(lambda m: len(m) > before and m, timeout=timeout,
                             topic_prefix=CONTROL_RESPONSE_TOPIC, what="a control response")
        return json.loads(msgs[before][1])

    def send(self, *commands, timeout=10):
        """Send commands (dicts); return the list of responses, in order."""
        import json
        return self.send_raw(json.dumps({"commands": list(commands)}), timeout)["responses"]

    def ok(self, *commands):
        """Send commands and assert every response is ok."""
        res = self.send(*commands)
        bad = [r for r in res if not r.get("ok")]
        if bad:
            raise AssertionError(f"control commands failed: {bad}")
        return res

    def stop(self):
        self.sub.stop()


def make_pki(tmp, clients, server_cn="127.0.0.1"):
    """A throwaway CA, a server certificate and one client certificate per
    name in `clients` (CN = the name), P-256, valid one day. Returns a dict:
    {"ca": path, "server": (cert, key), NAME: (cert, key), ...}."""
    d = os.path.join(str(tmp), "pki")
    os.makedirs(d, exist_ok=True)

    def p(name):
        return os.path.join(d, name)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run(["openssl", "req", "-x509"] + ec + ["-keyout", p("ca.key"), "-out", p("ca.pem"),
        "-days", "1", "-subj", "/CN=cordon-test-ca"])
    out = {"ca": p("ca.pem")}
    for name, cn in [("server", server_cn)] + [(c, c) for c in clients]:
        run(["openssl", "req"] + ec + ["-keyout", p(f"{name}.key"), "-out", p(f"{name}.csr"),
            "-subj", f"/CN={cn}"])
        run(["openssl", "x509", "-req", "-in", p(f"{name}.csr"), "-CA", p("ca.pem"),
             "-CAkey", p("ca.key"), "-CAcreateserial", "-out", p(f"{name}.pem"), "-days", "1"])
        out[name] = (p(f"{name}.pem"), p(f"{name}.key"))
    return out


def tls_listener_conf(port, pki):
    """mosquitto.conf lines for a certificate listener whose usernames are
    the client certificates' CNs (use_identity_as_username)."""
    cert, key = pki["server"]
    return "\n".join([f"listener {port} 127.0.0.1", f"cafile {pki['ca']}", f"certfile {cert}",
                      f"keyfile {key}", "require_certificate true",
                      "use_identity_as_username true"])


def tls_args(pki, name):
    """mosquitto_pub/sub arguments to connect with NAME's client certificate."""
    cert, key = pki[name]
    return ["--cafile", pki["ca"], "--cert", cert, "--key", key, "--insecure"]
