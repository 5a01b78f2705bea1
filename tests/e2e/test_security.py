"""Security regression tests (review of broker, plugin and cordond).

Each test starts its own broker (and cordond when needed) on free 127.0.0.1
ports in a private temp dir. A device is mosquitto_pub / mosquitto_sub.
"""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from cordond_harness import Cordond  # noqa: E402
from harness import (SERVER_IDENTITY, SERVER_PASSWORD, CordonBroker, Control, Proc,  # noqa: E402
                     Subscriber, TempDir, mqtt_pub, wait_for)


def devices(ctl, *things):
    ctl.ok(*[{"command": "set-credentials", "thing": t, "password": f"pw-{t}"} for t in things])


def dev_sub_argv(port, thing, topic, will_topic=None, extra=()):
    a = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-v", "-q", "1", "-t", topic,
         "-u", thing, "-P", f"pw-{thing}", "-i", thing, "-V", "mqttv5", "-k", "5"]
    if will_topic:
        a += ["--will-topic", will_topic, "--will-payload", "WILL-" + thing, "--will-qos", "1"]
    return a + list(extra)


CONTROL_MAX_BYTES = 256 * 1024  # lib/control.h: cordond refuses larger control messages


def _mqtt_str(b):
    return struct.pack("!H", len(b)) + b


def raw_connect(port, client_id, user, password):
    """One MQTT 3.1.1 CONNECT over a plain socket; return the CONNACK code."""
    var = _mqtt_str(b"MQTT") + bytes([4, 0xC2]) + struct.pack("!H", 30)
    body = var + _mqtt_str(client_id.encode()) + _mqtt_str(user.encode()) + \
        _mqtt_str(password.encode())
    n, rl = len(body), b""
    while True:
        d, n = n % 128, n // 128
        rl += bytes([d | (0x80 if n else 0)])
        if not n:
            break
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"\x10" + rl + body)
        ack = s.recv(4)
    return ack[3] if len(ack) == 4 else -1


class SecurityTest(harness.Test):

    def broker(self, opts=None):
        self.tmp = TempDir()
        self.b = CordonBroker(self.tmp, opts=opts)
        self.ctl = Control(self.tmp, self.b.port)
        return self.b.port

    def test_01_will_of_quarantined_device_is_not_published(self):
        """A will set before quarantine, on a topic the quarantine policy
        forbids, must not be published when the quarantined device drops."""
        port = self.broker()
        devices(self.ctl, "dev1", "dev2")
        result = "cordon/things/dev1/commands/result"
        watch = Subscriber(self.tmp, port, "cordon/things/+/commands/result",
                           user=SERVER_IDENTITY, password=SERVER_PASSWORD, v5=True)
        dev = Proc("dev1", dev_sub_argv(port, "dev1", "cordon/things/dev1/commands",
                                        will_topic=result), self.tmp)
        time.sleep(0.8)
        self.ctl.ok({"command": "quarantine", "thing": "dev1"})
        time.sleep(0.5)
        dev.kill9()
        time.sleep(1.0)
        assert not watch.messages(), f"will of a quarantined device published: {watch.messages()}"
        # control: the same will of a device that is not quarantined is published
        dev2 = Proc("dev2", dev_sub_argv(port, "dev2", "cordon/things/dev2/commands",
                                         will_topic="cordon/things/dev2/commands/result"),
                    self.tmp)
        time.sleep(0.8)
        dev2.kill9()
        watch.wait(what="dev2's will")
        assert [m[0] for m in watch.messages()] == ["cordon/things/dev2/commands/result"]

    def cordond(self):
        port = self.broker()
        self.d = Cordond(self.tmp, port)
        return self.d.api

    def test_02_no_thing_may_take_the_server_identity(self):
        """The plugin grants the server identity every topic ($CONTROL
        included): a thing named like it would get a fleet certificate whose
        CN makes it the server on certificate listeners."""
        api = self.cordond()
        st, res = api.call("POST", "/api/v1/things", {"thingName": SERVER_IDENTITY})
        assert st == 400, (st, res)
        st, res = api.call("POST", f"/api/v1/things/{SERVER_IDENTITY}/credentials",
                           {"type": "certificate"})
        assert st == 404, (st, res)
        assert api.call("POST", "/api/v1/things", {"thingName": "cordond2"})[0] == 201

    def test_03_metrics_of_a_large_fleet_stay_under_the_control_cap(self):
        """Every identity with activity goes into the cloud-side metrics. One
        message for the whole fleet grew past CONTROL_MAX_BYTES and cordond
        refused all of it: authorization/authentication failure storms went
        unseen. Each message must stay under the cap."""
        port = self.broker({"metrics_interval": 4})  # all the failures in one interval
        n = 700
        names = [f"{i:04d}-" + "x" * 120 for i in range(n)]
        hashed = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$0pX3rXxQe4d0bMfVQsR7Kw"
        for k in range(0, n, 250):
            self.ctl.ok(*[{"command": "set-credentials", "thing": t, "passwordHash": hashed}
                          for t in names[k:k + 250]])
        watch = Subscriber(self.tmp, port, harness.CONTROL_METRICS_TOPIC, user=SERVER_IDENTITY,
                           password=SERVER_PASSWORD, v5=True)
        for t in names:
            assert raw_connect(port, t, t, "wrong") != 0
        seen = {}

        def collect(msgs):
            seen.clear()
            for _, payload in msgs:
                assert len(payload.encode()) <= CONTROL_MAX_BYTES, \
                    f"metrics message of {len(payload.encode())} bytes is over the control cap"
                for th in json.loads(payload)["things"]:
                    seen[th["thing"]] = seen.get(th["thing"], 0) + \
                        th.get("cordon:num-authentication-failures", 0)
            return len(seen) >= n
        watch.wait(collect, timeout=15, what=f"metrics for {n} identities")
        assert set(seen) == set(names)
        assert all(v >= 1 for v in seen.values()), "authentication failures lost"

    def test_04_enhanced_auth_cannot_skip_the_password(self):
        """MQTT 5 enhanced authentication bypasses BASIC_AUTH in 2.0.11: a
        CONNECT with an authentication method must be refused."""
        port = self.broker()
        devices(self.ctl, "dev1")
        for extra in (["-u", "dev1", "-P", "wrong", "-i", "dev1"], ["-u", "dev1", "-i", "dev1"],
                      ["-u", SERVER_IDENTITY, "-i", "x"]):
            r = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-V",
                                "mqttv5", "-q", "1", "-t", "$aws/things/dev1/defender/metrics/json",
                                "-m", "{}", "-D", "connect", "authentication-method", "SCRAM-SHA-1"]
                               + extra, capture_output=True, text=True, timeout=10)
            assert r.returncode != 0 and "authentication method" in r.stderr.lower(), r

    def test_05_quarantine_reconciles_with_a_large_fleet(self):
        """cordond asks the broker for its state (get-state) on every connect
        and adds the broker's quarantined things to QUARANTINED. With a
        large fleet that answer grew past CONTROL_MAX_BYTES and cordond
        refused it: a quarantine known only to the broker stayed unknown."""
        port = self.broker()
        n = 2500
        hashed = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$0pX3rXxQe4d0bMfVQsR7Kw"
        names = [f"{i:05d}-" + "y" * 120 for i in range(n)]
        for k in range(0, n, 250):
            self.ctl.ok(*[{"command": "set-credentials", "thing": t, "passwordHash": hashed}
                          for t in names[k:k + 250]])
        self.ctl.ok({"command": "quarantine", "thing": "victim"})
        self.d = Cordond(self.tmp, port)
        wait_for(lambda: "quarantine reconciled" in self.d.log() or
                 "bad control response" in self.d.log(), what="the get-state answer")
        assert "bad control response" not in self.d.log(), self.d.log()[-2000:]
        st, t = self.d.api.call("GET", "/api/v1/things/victim")
        assert st == 200 and t["quarantined"], (st, t)

    def test_06_certificates_are_pinned(self):
        """On a certificate listener the CN is the identity. A password
        identity must not be usable with any certificate carrying its name,
        and once the broker pins a certificate (set-credentials with
        certificateSha256, as cordond sends it), an older certificate with
        the same CN (revoked, re-issued) must stop working."""
        tmp = self.tmp = TempDir()
        pki = harness.make_pki(tmp, ["cam1", "pw1"])
        d = os.path.join(str(tmp), "pki")
        old = (os.path.join(d, "cam1-old.pem"), os.path.join(d, "cam1-old.key"))
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        harness.run(["openssl", "req"] + ec + ["-keyout", old[1], "-out", old[0] + ".csr",
                                               "-subj", "/CN=cam1"])
        harness.run(["openssl", "x509", "-req", "-in", old[0] + ".csr", "-CA", pki["ca"],
                     "-CAkey", os.path.join(d, "ca.key"), "-CAcreateserial", "-out", old[0],
                     "-days", "1"])
        pki["cam1-old"] = old

        def sha256(name):
            out = harness.run(["openssl", "x509", "-in", pki[name][0], "-noout", "-fingerprint",
                               "-sha256"]).stdout
            return out.strip().split("=", 1)[1].replace(":", "").lower()
        tport = harness.free_port()
        self.b = CordonBroker(tmp, extra=harness.tls_listener_conf(tport, pki))
        harness.wait_port(tport, proc=self.b)
        self.ctl = Control(tmp, self.b.port)

        def cam(name, cn):
            argv = ["mosquitto_pub", "-h", "127.0.0.1", "-p", tport, "-t",
                    f"$aws/things/{cn}/defender/metrics/json", "-m", "{}", "-q", "1", "-V",
                    "mqttv5", "-i", cn] + harness.tls_args(pki, name)
            r = harness.run(argv, check=False)
            return r.returncode == 0 and not r.stderr.strip()
        # a password identity: its name in a certificate is not its password
        devices(self.ctl, "pw1")
        assert not cam("pw1", "pw1"), "a password identity logged in with a certificate"
        # any certificate with the CN until one is pinned (compatible with older servers)
        self.ctl.ok({"command": "set-credentials", "thing": "cam1", "certificate": True})
        assert cam("cam1-old", "cam1") and cam("cam1", "cam1")
        # cordond pins the certificate it issued: the older one is refused from now on
        self.ctl.ok({"command": "set-credentials", "thing": "cam1", "certificate": True,
                     "certificateSha256": sha256("cam1")})
        assert not cam("cam1-old", "cam1"), "a replaced certificate still works"
        assert cam("cam1", "cam1")
        bad = self.ctl.send({"command": "set-credentials", "thing": "cam1", "certificate": True,
                             "certificateSha256": "XYZ"})
        assert not bad[0]["ok"], bad
        # the pin survives a restart (state file)
        self.b.restart()
        harness.wait_port(tport, proc=self.b)
        assert not cam("cam1-old", "cam1") and cam("cam1", "cam1")

    def test_07_cordond_pins_the_certificates_it_issues(self):
        """A certificate re-issued through the API replaces the old one at
        the broker: the first certificate stops working."""
        api = self.cordond()
        api.ok("POST", "/api/v1/things", {"thingName": "cam9"})
        first = api.ok("POST", "/api/v1/things/cam9/credentials", {"type": "certificate"})
        second = api.ok("POST", "/api/v1/things/cam9/credentials", {"type": "certificate"})
        d = os.path.join(str(self.tmp), "certs")
        os.makedirs(d)
        files = {}
        for name, c in (("first", first), ("second", second)):
            for k, ext in (("certificatePem", "pem"), ("privateKeyPem", "key")):
                path = os.path.join(d, f"{name}.{ext}")
                with open(path, "w") as f:
                    f.write(c[k])
                files[(name, ext)] = path
        fp = second["certificateSha256"]

        def pinned():
            ids = json.load(open(self.b.state_file))["identities"]
            return ids.get("cam9", {}).get("certificateSha256") == fp
        wait_for(pinned, what="the second certificate pinned at the broker")
        # restart the broker with a certificate listener trusting the fleet CA
        pki = harness.make_pki(self.tmp, [])
        tport = harness.free_port()
        self.ctl.stop()
        self.b.stop()
        extra = "\n".join([f"listener {tport} 127.0.0.1",
                           f"cafile {os.path.join(self.d.var, 'fleet-ca.pem')}",
                           f"certfile {pki['server'][0]}", f"keyfile {pki['server'][1]}",
                           "require_certificate true", "use_identity_as_username true"])
        self.b = CordonBroker(self.tmp, port=self.b.port, extra=extra)
        harness.wait_port(tport, proc=self.b)

        def cam(which):
            r = harness.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", tport, "-t",
                             "$aws/things/cam9/defender/metrics/json", "-m", "{}", "-q", "1",
                             "-V", "mqttv5", "-i", "cam9", "--cafile", pki["ca"], "--insecure",
                             "--cert", files[(which, "pem")], "--key", files[(which, "key")]],
                            check=False)
            return r.returncode == 0 and not r.stderr.strip()
        assert cam("second"), self.b.log()[-3000:]
        assert not cam("first"), "the replaced certificate still works"

    def test_08_secret_files_are_private(self):
        """admin.token and the broker state file (password hashes) are 0600
        even when a leftover .new file with a wider mode, or a symlink, is in
        the way."""
        tmp = self.tmp = TempDir()
        var = os.path.join(str(tmp), "var")
        os.makedirs(var)
        decoy = os.path.join(str(tmp), "decoy")
        open(decoy, "w").close()
        os.chmod(decoy, 0o644)
        with open(os.path.join(var, "admin.token.new"), "w") as f:
            f.write("old")
        os.chmod(os.path.join(var, "admin.token.new"), 0o644)
        state_new = os.path.join(str(tmp), "broker-state.json.new")
        os.symlink(decoy, state_new)
        self.b = CordonBroker(tmp)
        self.ctl = Control(tmp, self.b.port)
        devices(self.ctl, "dev1")
        mode = os.lstat(self.b.state_file).st_mode
        assert mode & 0o777 == 0o600 and not os.path.islink(self.b.state_file), oct(mode)
        assert open(decoy).read() == "", "the state was written through a planted symlink"
        self.d = Cordond(tmp, self.b.port)
        tok = os.path.join(var, "admin.token")
        assert os.stat(tok).st_mode & 0o777 == 0o600, oct(os.stat(tok).st_mode)
        # the fleet CA key, created at the first certificate
        self.d.api.ok("POST", "/api/v1/things", {"thingName": "cam1"})
        self.d.api.ok("POST", "/api/v1/things/cam1/credentials", {"type": "certificate"})
        assert os.stat(os.path.join(var, "fleet-ca.key")).st_mode & 0o777 == 0o600

    def test_09_request_paths_cannot_forge_log_lines(self):
        """The request path is logged; a percent-encoded newline in it must
        not start a forged log line."""
        port = self.broker()
        self.d = Cordond(self.tmp, port)
        with open(self.d.conf) as f:
            conf = f.read().replace("level: info", "level: debug")
        with open(self.d.conf, "w") as f:
            f.write(conf)
        self.d.restart()
        st, _ = self.d.api.call("GET", "/x%0Ats=forged%20level=error%20msg=%22forged%22",
                                token=None)
        assert st == 404, st
        wait_for(lambda: "forged" in self.d.log(), what="the request logged")
        forged = [l for l in self.d.log().splitlines() if l.startswith("ts=forged")]
        assert not forged, forged


if __name__ == "__main__":
    SecurityTest().main()
