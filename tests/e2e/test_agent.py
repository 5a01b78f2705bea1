"""cordon-agent end to end: real /proc captures, a real Mosquitto on a free
127.0.0.1 port, real sockets opened by the test.

    /usr/bin/python3 tests/e2e/test_agent.py [test_name...]

Reports are sent every 0.7 s through the test-only --interval-ms flag
(enabled by CORDON_AGENT_TEST=1; the configurable minimum is 5 s).
"""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Mosquitto, Proc, Subscriber, TempDir, mqtt_pub, run, wait_for  # noqa: E402

AGENT = os.path.join(harness.BIN, "cordon-agent")
FIXTURES = os.path.join(harness.SRC, "tests", "fixtures", "proc")
TEST_ENV = {"CORDON_AGENT_TEST": "1"}


def topic(thing):
    return f"$aws/things/{thing}/defender/metrics/json"


def agent(tmp, thing, port, *extra, name="agent", interval_ms=700):
    state = os.path.join(str(tmp), f"{name}-state")
    argv = [AGENT, "--config", os.devnull, "--thing", thing, "--host", "127.0.0.1",
            "--port", port, "--state-dir", state, "--interval-ms", interval_ms,
            "--jitter", "0", "--reconnect-min", "1", "--reconnect-max", "2",
            "--log-level", "debug"] + list(extra)
    return Proc(name, argv, tmp, env=TEST_ENV), state


def reports(sub, thing):
    out = []
    for t, payload in sub.messages(topic(thing)):
        if t == topic(thing):
            out.append(json.loads(payload))
    return out


def tcp_ports(rep):
    return {(p["port"], p.get("interface", "")) for p in rep["metrics"]["listening_tcp_ports"]["ports"]}


def strip_id(rep):
    rep = json.loads(json.dumps(rep))
    rep["header"]["report_id"] = 0
    return rep


def socket_inodes(pid):
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", link)
        if m:
            inodes.add(m.group(1))
    return inodes


class AgentTest(harness.Test):

    # ---- command line and configuration -------------------------------------

    def test_help_lists_every_key(self):
        r = run([AGENT, "--help"])
        for key in ("--thing", "--host", "--port", "--cafile", "--capath", "--certfile",
                    "--keyfile", "--username", "--password-file", "--password", "--mqtt-version",
                    "--keepalive", "--interval", "--jitter", "--short-names", "--max-list",
                    "--include-loopback", "--proc-root", "--interfaces-file", "--state-dir",
                    "--spool-dir", "--spool-max-reports", "--spool-max-bytes",
                    "--reconnect-min", "--reconnect-max", "--log-level", "--once", "--stdout",
                    "--validate", "--config"):
            assert key in r.stdout, f"--help does not mention {key}"
        assert "Default: 300" in r.stdout

    def test_config_errors(self):
        tmp = TempDir()
        conf = tmp.file("agent.conf", "thing = t1\n\ninterval = 4\n")
        r = run([AGENT, "--config", conf, "--once", "--stdout"], check=False)
        assert r.returncode == 2, r
        assert f"{conf}:3: interval must be" in r.stderr, r.stderr
        conf = tmp.file("bad.conf", "thing = t1\nportt = 1883\n")
        r = run([AGENT, "--config", conf], check=False)
        assert r.returncode == 2 and f"{conf}:2: unknown key 'portt'" in r.stderr, r.stderr
        r = run([AGENT, "--config", os.devnull, "--thing", "t", "--interval", "1"], check=False)
        assert r.returncode == 2 and "--interval: interval must be" in r.stderr, r.stderr
        r = run([AGENT, "--config", os.devnull, "--thing", "t", "--interval-ms", "500"],
                check=False)
        assert r.returncode == 2 and "tests only" in r.stderr, r.stderr
        r = run([AGENT, "--config", os.path.join(tmp.path, "missing.conf"), "--thing", "t"],
                check=False)
        assert r.returncode == 2 and "missing.conf" in r.stderr, r.stderr
        r = run([AGENT, "--config", os.devnull, "--once"], check=False)
        assert r.returncode == 2 and "thing" in r.stderr, r.stderr

    # ---- collection from captured /proc files --------------------------------

    def test_fixture_report(self):
        fx = os.path.join(FIXTURES, "mixed")
        with open(os.path.join(fx, "expected.json")) as f:
            want = json.load(f)
        r = run([AGENT, "--config", os.devnull, "--thing", "t1", "--once", "--stdout",
                 "--proc-root", fx])
        got = json.loads(r.stdout)
        assert got["header"]["report_id"] > 1700000000000
        assert strip_id(got) == want, json.dumps(got)[:2000]
        # short names, and the agent's strict decoder accepts both forms
        r = run([AGENT, "--config", os.devnull, "--thing", "t1", "--once", "--stdout",
                 "--short-names", "--proc-root", fx])
        short = json.loads(r.stdout)
        assert short["met"]["tp"]["t"] == want["metrics"]["listening_tcp_ports"]["total"]
        assert short["met"]["tc"]["ec"]["t"] == 180
        tmp = TempDir()
        both = tmp.file("both.jsonl", r.stdout + json.dumps(got) + "\n")
        v = run([AGENT, "--validate", both])
        assert v.stdout.strip() == "ok: 2 reports", v.stdout

    def test_missing_ipv6_files_are_not_an_error(self):
        tmp = TempDir()
        root = os.path.join(tmp.path, "proc")
        shutil.copytree(os.path.join(FIXTURES, "mixed"), root)
        os.unlink(os.path.join(root, "net", "tcp6"))
        os.unlink(os.path.join(root, "net", "udp6"))
        r = run([AGENT, "--config", os.devnull, "--thing", "t1", "--once", "--stdout",
                 "--proc-root", root])
        got = json.loads(r.stdout)
        assert "level=warn" not in r.stderr, r.stderr
        # v4 listeners remain; connections seen only in tcp6 are gone
        assert got["metrics"]["listening_tcp_ports"]["total"] >= 4
        assert got["metrics"]["tcp_connections"]["established_connections"]["total"] < 180
        for c in got["metrics"]["tcp_connections"]["established_connections"]["connections"]:
            assert not c["remote_addr"].startswith("["), c

    def test_live_report_and_cap(self):
        # live /proc: a wildcard v6 UDP listener and a TCP listener we open ourselves
        u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        u.bind(("::", 0))
        t = socket.socket()
        t.bind(("127.0.0.1", 0))
        t.listen()
        try:
            r = run([AGENT, "--config", os.devnull, "--thing", "t1", "--once", "--stdout",
                     "--max-list", "1000"])
            got = json.loads(r.stdout)
            up = {(p["port"], p.get("interface", "")) for p in got["metrics"]["listening_udp_ports"]["ports"]}
            assert (u.getsockname()[1], "") in up, up
            assert (t.getsockname()[1], "lo") in tcp_ports(got)
            r = run([AGENT, "--config", os.devnull, "--thing", "t1", "--once", "--stdout",
                     "--max-list", "0"])
            got = json.loads(r.stdout)
            assert got["metrics"]["listening_tcp_ports"]["ports"] == []
            assert got["metrics"]["listening_tcp_ports"]["total"] >= 1
        finally:
            u.close()
            t.close()

    def test_netlink_matches_proc_text(self):
        # the live path (netlink dumps) and the /proc text parser agree on our sockets;
        # "/proc/" (trailing slash) selects the text parser on the live files
        ks = []
        try:
            for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::"),
                              (socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
                u = socket.socket(fam, socket.SOCK_DGRAM)
                u.bind((addr, 0))
                ks.append(u)
            c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            c.connect(("127.0.0.1", ks[2].getsockname()[1]))
            ks.append(c)
            ls = socket.socket(socket.AF_INET6)
            ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            ls.bind(("::", 0))
            ls.listen()
            ks.append(ls)
            for i in range(3):
                x = socket.socket()
                x.connect(("127.0.0.1", ls.getsockname()[1]))
                a, _ = ls.accept()
                ks += [x, a]
            ours = {k.getsockname()[1] for k in ks}

            def mine(extra):
                r = run([AGENT, "--config", os.devnull, "--thing", "t1", "--once", "--stdout",
                         "--max-list", "1000"] + extra)
                m = json.loads(r.stdout)["metrics"]
                tp = sorted((p["port"], p.get("interface", "")) for p in
                            m["listening_tcp_ports"]["ports"] if p["port"] in ours)
                up = sorted((p["port"], p.get("interface", "")) for p in
                            m["listening_udp_ports"]["ports"] if p["port"] in ours)
                cs = sorted(json.dumps(c, sort_keys=True) for c in
                            m["tcp_connections"]["established_connections"]["connections"]
                            if c.get("local_port") in ours)
                return tp, up, cs

            live, text = mine([]), mine(["--proc-root", "/proc/"])
            assert live == text, (live, text)
            assert len(live[0]) == 1 and len(live[1]) == 4 and len(live[2]) == 6, live
            assert ("127.0.0.1:" in live[2][0]), live[2]  # v4-mapped written as IPv4
        finally:
            for k in ks:
                k.close()

    def test_custom_metrics(self):
        tmp = TempDir()
        mods = tmp.file("modules", "nf_conntrack\nbr_netfilter\n")
        conf = tmp.file("agent.conf", f"""
thing = t1
metric.cpu_load.type = number
metric.cpu_load.command = /bin/echo 17.25
metric.modules.type = string-list
metric.modules.file = {mods}
metric.peers.type = ip-address-list
metric.peers.command = /usr/bin/printf '%s\\n' 192.0.2.1 2001:db8::5
metric.bad_number.type = number
metric.bad_number.command = /bin/echo "not a number"
metric.too_precise.type = number
metric.too_precise.command = /bin/echo 3.14159265358979323
metric.slow.type = number
metric.slow.command = /bin/sleep 10
metric.slow.timeout = 1
metric.failing.type = number
metric.failing.command = /bin/false
""")
        t0 = time.time()
        r = run([AGENT, "--config", conf, "--once", "--stdout"])
        assert time.time() - t0 < 8, "timeout not enforced"
        got = json.loads(r.stdout)
        cm = got["custom_metrics"]
        assert cm["cpu_load"] == [{"number": 17.25}], cm
        assert cm["modules"] == [{"string_list": ["nf_conntrack", "br_netfilter"]}], cm
        assert cm["peers"] == [{"ip_list": ["192.0.2.1", "2001:db8::5"]}], cm
        for bad in ("bad_number", "too_precise", "slow", "failing"):
            assert bad not in cm, cm
            assert f"metric={bad}" in r.stderr, r.stderr
        assert "timed out" in r.stderr and "exit status 1" in r.stderr, r.stderr
        assert "significant digits" in r.stderr, r.stderr

    # ---- MQTT --------------------------------------------------------------------

    def test_publish_listener_appears_and_disappears(self):
        tmp = TempDir()
        mq = Mosquitto(tmp, plugin=False)
        sub = Subscriber(tmp, mq.port, topic("pump-1") + "/#")
        a, state = agent(tmp, "pump-1", mq.port)
        sub.wait(lambda m: len(reports(sub, "pump-1")) >= 2, timeout=15, what="two reports")
        reps = reports(sub, "pump-1")
        ids = [r["header"]["report_id"] for r in reps]
        assert ids == sorted(set(ids)), ids
        assert reps[0]["header"]["version"] == "1.0"
        assert "network_stats" not in reps[0]["metrics"]  # first report: baseline only (R8)
        assert "network_stats" in reps[1]["metrics"]
        assert set(reps[1]["metrics"]["network_stats"]) == {"bytes_in", "bytes_out",
                                                             "packets_in", "packets_out"}
        # the agent's own broker connection is an established connection
        conns = reps[-1]["metrics"]["tcp_connections"]["established_connections"]["connections"]
        assert any(c["remote_addr"] == f"127.0.0.1:{mq.port}" and c.get("local_interface") == "lo"
                   for c in conns), conns
        # a listener opened now is in a later report; closed, it leaves
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen()
        lport = ls.getsockname()[1]
        n0 = len(reports(sub, "pump-1"))
        wait_for(lambda: any((lport, "lo") in tcp_ports(r) for r in reports(sub, "pump-1")[n0:]),
                 timeout=10, what="listener in a report")
        ls.close()
        n1 = len(reports(sub, "pump-1"))
        wait_for(lambda: len(reports(sub, "pump-1")) > n1 + 1 and
                 (lport, "lo") not in tcp_ports(reports(sub, "pump-1")[-1]),
                 timeout=10, what="listener gone from a report")
        # R10: the last id is persisted
        with open(os.path.join(state, "report_id")) as f:
            assert int(f.read()) >= ids[-1]
        # R14: the agent itself listens nowhere
        mine = socket_inodes(a.pid)
        for name, st in (("tcp", "0A"), ("tcp6", "0A"), ("udp", "07"), ("udp6", "07")):
            with open(f"/proc/net/{name}") as f:
                for line in f.read().splitlines()[1:]:
                    fl = line.split()
                    assert not (fl[3] == st and fl[9] in mine), f"agent listens: {line}"
        a.stop()
        assert "level=error" not in a.log(), a.log()

    def test_offline_spool_then_ordered_delivery(self):
        tmp = TempDir()
        mq = Mosquitto(tmp, plugin=False)
        sub = Subscriber(tmp, mq.port, topic("pump-2"))
        a, state = agent(tmp, "pump-2", mq.port)
        sub.wait(lambda m: len(reports(sub, "pump-2")) >= 1, timeout=15, what="first report")
        before = [r["header"]["report_id"] for r in reports(sub, "pump-2")]
        mq.stop()
        sub.stop()
        spool = os.path.join(state, "spool")
        wait_for(lambda: len(os.listdir(spool)) >= 4, timeout=15, what="4 spooled reports")
        assert "connection lost" in a.log() or "cannot connect" in a.log()
        # hold the agent while the broker and a fresh subscriber come back, so
        # the subscriber sees everything the agent sends after reconnecting
        a.send_signal(signal.SIGSTOP)
        try:
            spooled = sorted(int(n.split(".")[0]) for n in os.listdir(spool) if n.endswith(".json"))
            mq.restart()
            sub2 = Subscriber(tmp, mq.port, topic("pump-2"), name="sub-after")
        finally:
            a.send_signal(signal.SIGCONT)
        wait_for(lambda: set(spooled) <= {r["header"]["report_id"] for r in reports(sub2, "pump-2")},
                 timeout=20, what="every spooled report delivered")
        ids = [r["header"]["report_id"] for r in reports(sub2, "pump-2")]
        assert ids == sorted(ids) and len(ids) == len(set(ids)), ids
        assert ids[0] == spooled[0], (ids, spooled)
        assert min(spooled) > max(before)
        # acknowledged reports leave the spool
        wait_for(lambda: len([n for n in os.listdir(spool) if n.endswith(".json")]) <= 1,
                 timeout=10, what="spool drained")
        assert "sending spooled reports" in a.log()
        a.stop()

    def test_spool_bound_drops_oldest(self):
        tmp = TempDir()
        closed = harness.free_port()  # nothing listens: the broker is "down"
        a, state = agent(tmp, "pump-9", closed, "--spool-max-reports", "3")
        wait_for(lambda: "spool full; oldest reports dropped" in a.log(), timeout=15,
                 what="a dropped report")
        a.send_signal(signal.SIGSTOP)
        try:
            spool = os.path.join(state, "spool")
            files = sorted(int(n.split(".")[0]) for n in os.listdir(spool) if n.endswith(".json"))
            queued = [int(x) for x in re.findall(r'msg="report queued" report_id=(\d+)', a.log())]
        finally:
            a.send_signal(signal.SIGCONT)
        assert len(files) == 3, files
        # the newest three are kept (the agent may have been stopped between
        # spooling a report and logging it: then the newest is not logged yet)
        assert files == queued[-3:] or (files[:2] == queued[-2:] and files[2] > queued[-1]), \
            (files, queued)
        m = re.findall(r"spool_dropped_total=(\d+)", a.log())
        assert int(m[-1]) in (len(queued) - 3, len(queued) - 2), (m, len(queued))
        a.stop()

    def test_flags_override_file(self):
        tmp = TempDir()
        conf = tmp.file("agent.conf", "thing = from-file\nshort_names = true\nmax_list = 0\n")
        r = run([AGENT, "--config", conf, "--once", "--stdout", "--proc-root",
                 os.path.join(FIXTURES, "mixed")])
        short = json.loads(r.stdout)
        assert "hed" in short and short["met"]["tp"]["pts"] == []
        r = run([AGENT, "--config", conf, "--once", "--stdout", "--short-names=false",
                 "--max-list", "2", "--proc-root", os.path.join(FIXTURES, "mixed")])
        long = json.loads(r.stdout)
        assert "header" in long
        assert len(long["metrics"]["listening_tcp_ports"]["ports"]) == 2

    def test_rejected_reply_is_logged(self):
        tmp = TempDir()
        mq = Mosquitto(tmp, plugin=False)
        sub = Subscriber(tmp, mq.port, topic("pump-3"))
        a, _ = agent(tmp, "pump-3", mq.port, interval_ms=1500)
        sub.wait(lambda m: len(reports(sub, "pump-3")) >= 1, timeout=15, what="a report")
        rid = reports(sub, "pump-3")[0]["header"]["report_id"]
        reply = {"thingName": "pump-3", "reportId": rid, "status": "REJECTED",
                 "timestamp": int(time.time() * 1000),
                 "statusDetails": {"ErrorCode": "InvalidField",
                                   "ErrorMessage": "metrics.tp.pts[1].pt: expected integer 1..65535"}}
        r = mqtt_pub(mq.port, topic("pump-3") + "/rejected", json.dumps(reply))
        assert r.returncode == 0, r.stderr
        ok = {"thingName": "pump-3", "reportId": rid, "status": "ACCEPTED", "timestamp": 1}
        mqtt_pub(mq.port, topic("pump-3") + "/accepted", json.dumps(ok))
        want = (f'msg="report rejected" report_id={rid} code="InvalidField" '
                f'reason="metrics.tp.pts[1].pt: expected integer 1..65535"')
        wait_for(lambda: want in a.log(), timeout=10, what="rejection in the log")
        wait_for(lambda: f'msg="report accepted" report_id={rid}' in a.log(), timeout=10,
                 what="acceptance in the log")
        a.stop()

    def test_once_and_ids_across_restarts(self):
        tmp = TempDir()
        mq = Mosquitto(tmp, plugin=False)
        state = os.path.join(tmp.path, "state")
        sub = Subscriber(tmp, mq.port, topic("pump-4"))
        base = [AGENT, "--config", os.devnull, "--thing", "pump-4", "--host", "127.0.0.1",
                "--port", str(mq.port), "--state-dir", state, "--once"]
        r = run(base)
        with open(os.path.join(state, "report_id")) as f:
            first = int(f.read())
        assert abs(first - time.time() * 1000) < 60000
        # a clock that stepped back must not reuse ids: pretend the last id is in the future
        future = first + 10_000_000
        with open(os.path.join(state, "report_id"), "w") as f:
            f.write(f"{future}\n")
        run(base + ["--mqtt-version", "3.1.1"])
        sub.wait(lambda m: len(reports(sub, "pump-4")) >= 2, timeout=10, what="two reports")
        ids = [x["header"]["report_id"] for x in reports(sub, "pump-4")]
        assert ids == [first, future + 1], ids
        assert os.listdir(os.path.join(state, "spool")) == []

    # ---- against Cordon's broker plugin (authentication, topic policy) ----------

    def test_cordon_broker_password(self):
        if not os.path.exists(harness.PLUGIN):
            print("skip: broker plugin not built")
            return
        tmp = TempDir()
        br = harness.CordonBroker(tmp)
        ctl = harness.Control(tmp, br.port)
        ctl.ok({"command": "set-credentials", "thing": "pump-7", "password": "pw-pump-7"})
        sub = Subscriber(tmp, br.port, topic("pump-7"), user=harness.SERVER_IDENTITY,
                         password=harness.SERVER_PASSWORD, v5=True)
        pw = tmp.file("pump-7.pass", "pw-pump-7\n", mode=0o600)
        a, _ = agent(tmp, "pump-7", br.port, "--username", "pump-7", "--password-file", pw)
        sub.wait(lambda m: len(reports(sub, "pump-7")) >= 2, timeout=15, what="reports via the plugin")
        log = a.log()
        assert "pw-pump-7" not in log, "password in the log"
        assert "level=error" not in log and "refused" not in log, log
        a.stop()
        # a wrong password is refused and retried with backoff, never crashes
        bad = tmp.file("bad.pass", "nope\n", mode=0o600)
        a, _ = agent(tmp, "pump-7", br.port, "--username", "pump-7", "--password-file", bad,
                     name="agent-bad")
        wait_for(lambda: "broker refused the connection" in a.log(), timeout=10,
                 what="refusal logged")
        assert "nope" not in a.log()
        assert a.poll() is None
        a.stop()
        ctl.stop()

    def test_cordon_broker_tls_client_certificate(self):
        if not os.path.exists(harness.PLUGIN):
            print("skip: broker plugin not built")
            return
        tmp = TempDir()
        pki = harness.make_pki(tmp, ["pump-8"])
        tport = harness.free_port()
        br = harness.CordonBroker(tmp, extra=harness.tls_listener_conf(tport, pki))
        harness.wait_port(tport, proc=br)
        ctl = harness.Control(tmp, br.port)
        ctl.ok({"command": "set-credentials", "thing": "pump-8", "certificate": True})
        sub = Subscriber(tmp, br.port, topic("pump-8"), user=harness.SERVER_IDENTITY,
                         password=harness.SERVER_PASSWORD, v5=True)
        cert, key = pki["pump-8"]
        a, _ = agent(tmp, "pump-8", tport, "--cafile", pki["ca"], "--certfile", cert,
                     "--keyfile", key)
        sub.wait(lambda m: len(reports(sub, "pump-8")) >= 1, timeout=15, what="a report over TLS")
        assert "level=error" not in a.log(), a.log()
        a.stop()
        # a CA that did not sign the server certificate: no connection, no report
        other = harness.make_pki(os.path.join(tmp.path, "other"), [])
        n = len(reports(sub, "pump-8"))
        a, _ = agent(tmp, "pump-8", tport, "--cafile", other["ca"], "--certfile", cert,
                     "--keyfile", key, name="agent-badca")
        wait_for(lambda: "cannot connect" in a.log() or "connection lost" in a.log(), timeout=10,
                 what="TLS failure logged")
        time.sleep(1.5)
        assert len(reports(sub, "pump-8")) == n
        a.stop()
        ctl.stop()

    def test_mqtt5_refused_falls_back_to_311(self):
        tmp = TempDir()
        broker = FakeV311Broker()
        try:
            a, _ = agent(tmp, "pump-5", broker.port)
            wait_for(lambda: broker.published, timeout=15, what="a publish over 3.1.1")
            assert broker.levels[:2] == [5, 4], broker.levels
            assert "retrying with MQTT 3.1.1" in a.log(), a.log()
            t, payload = broker.published[0]
            assert t == topic("pump-5")
            assert json.loads(payload)["header"]["version"] == "1.0"
            assert broker.subscribed_before_publish
            a.stop()
        finally:
            broker.close()


class FakeV311Broker:
    """A minimal MQTT 3.1.1-only server: refuses a version 5 CONNECT with
    CONNACK return code 1 (unacceptable protocol version), as a 3.1.1 broker
    does, then serves CONNECT/SUBSCRIBE/PUBLISH QoS 1/PINGREQ for 3.1.1."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen()
        self.port = self.srv.getsockname()[1]
        self.levels = []
        self.published = []
        self.subscribed = False
        self.subscribed_before_publish = False
        self.closed = False
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self):
        self.closed = True
        self.srv.close()

    def _serve(self):
        while not self.closed:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(c,), daemon=True).start()

    @staticmethod
    def _read(c, n):
        b = b""
        while len(b) < n:
            x = c.recv(n - len(b))
            if not x:
                raise EOFError
            b += x
        return b

    def _packet(self, c):
        h = self._read(c, 1)[0]
        mult, length = 1, 0
        while True:
            d = self._read(c, 1)[0]
            length += (d & 127) * mult
            mult *= 128
            if not d & 128:
                break
        return h, self._read(c, length)

    def _client(self, c):
        try:
            with c:
                while True:
                    h, body = self._packet(c)
                    kind = h >> 4
                    if kind == 1:  # CONNECT
                        nlen = struct.unpack(">H", body[:2])[0]
                        level = body[2 + nlen]
                        self.levels.append(level)
                        if level != 4:
                            c.sendall(b"\x20\x02\x00\x01")
                            return
                        c.sendall(b"\x20\x02\x00\x00")
                    elif kind == 8:  # SUBSCRIBE
                        mid = body[:2]
                        n = 0
                        i = 2
                        while i < len(body):
                            tl = struct.unpack(">H", body[i:i + 2])[0]
                            i += 2 + tl + 1
                            n += 1
                        c.sendall(bytes([0x90, 2 + n]) + mid + b"\x01" * n)
                        self.subscribed = True
                    elif kind == 3:  # PUBLISH
                        tl = struct.unpack(">H", body[:2])[0]
                        t = body[2:2 + tl].decode()
                        qos = (h >> 1) & 3
                        rest = body[2 + tl:]
                        if qos:
                            mid, rest = rest[:2], rest[2:]
                            c.sendall(b"\x40\x02" + mid)
                        if not self.published:
                            self.subscribed_before_publish = self.subscribed
                        self.published.append((t, rest.decode()))
                    elif kind == 12:  # PINGREQ
                        c.sendall(b"\xd0\x00")
                    elif kind == 14:  # DISCONNECT
                        return
        except (EOFError, OSError):
            return


if __name__ == "__main__":
    AgentTest().main()
