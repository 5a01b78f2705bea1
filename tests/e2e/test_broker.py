"""End-to-end tests of cordon_mosquitto.so in Debian's Mosquitto 2.0.11.

Each test starts its own broker on a free 127.0.0.1 port with the plugin, a
state file in a private temp dir and the server identity `cordond`; devices
are mosquitto_pub / mosquitto_sub processes (MQTT 5 unless stated).
"""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (CONTROL_METRICS_TOPIC, SERVER_IDENTITY, SERVER_PASSWORD,  # noqa: E402
                     CordonBroker, Control, Proc, Subscriber, TempDir, mqtt_pub, wait_for)

DENIED = "not authori"  # mosquitto_pub 2.0.11: "Warning: Publish 1 failed: Not authorized."


def report_topic(thing):
    return f"$aws/things/{thing}/defender/metrics/json"


def dev_pub(port, thing, topic, payload="{}", password=None, client_id=None, v5=True):
    return mqtt_pub(port, topic, payload, qos=1, user=thing, password=password or f"pw-{thing}",
                    client_id=client_id or thing, v5=v5)


def denied(r):
    return DENIED in (r.stderr or "").lower()


def accepted(r):
    return r.returncode == 0 and not (r.stderr or "").strip()


def server_pub(port, topic, payload):
    r = mqtt_pub(port, topic, payload, user=SERVER_IDENTITY, password=SERVER_PASSWORD, v5=True)
    assert accepted(r), f"server publish to {topic} failed: {r.stderr}"


def devices(ctl, *things):
    ctl.ok(*[{"command": "set-credentials", "thing": t, "password": f"pw-{t}"} for t in things])


class BrokerTest(harness.Test):

    def setup(self, opts=None):
        self.tmp = TempDir()
        self.broker = CordonBroker(self.tmp, opts=opts)
        self.ctl = Control(self.tmp, self.broker.port)
        return self.broker.port

    def test_01_authentication(self):
        port = self.setup()
        devices(self.ctl, "dev1")
        assert accepted(dev_pub(port, "dev1", report_topic("dev1")))
        r = dev_pub(port, "dev1", report_topic("dev1"), password="wrong")
        assert r.returncode != 0 and DENIED in r.stderr.lower(), r
        # a device whose password was verified before logs in at once after a failed guess
        assert accepted(dev_pub(port, "dev1", report_topic("dev1")))
        r = dev_pub(port, "nobody", report_topic("nobody"))
        assert r.returncode != 0, "unknown identity must be refused"
        # the client id must equal the identity
        r = dev_pub(port, "dev1", report_topic("dev1"), client_id="someone-else")
        assert r.returncode != 0, "client id != identity must be refused"
        # identities with topic wildcards are refused outright, and never created
        res = self.ctl.send({"command": "set-credentials", "thing": "a/+", "password": "x"})
        assert res[0]["ok"] is False and "thing" in res[0]["error"], res
        r = mqtt_pub(port, "x", "y", user="dev#1", password="x", client_id="dev#1", v5=True)
        assert r.returncode != 0
        # the stored credential is an Argon2id hash, never the password
        state = open(self.broker.state_file).read()
        assert "$argon2id$" in state and "pw-dev1" not in state
        # a password-less login as the server identity is refused
        r = mqtt_pub(port, "x", "y", user=SERVER_IDENTITY, password="nope", v5=True)
        assert r.returncode != 0

    def test_02_devices_are_isolated(self):
        port = self.setup()
        devices(self.ctl, "dev1", "dev2")
        watch = Subscriber(self.tmp, port, ["$aws/things/+/defender/metrics/json", "cordon/#"],
                           user=SERVER_IDENTITY, password=SERVER_PASSWORD, v5=True)
        # dev1 may not publish as dev2 (MQTT 5 negative PUBACK)
        assert denied(dev_pub(port, "dev1", report_topic("dev2"), "forged"))
        assert denied(dev_pub(port, "dev1", "cordon/things/dev2/logs", "forged"))
        assert denied(dev_pub(port, "dev1", "cordon/anything", "forged"))
        assert accepted(dev_pub(port, "dev1", report_topic("dev1"), "mine"))
        watch.wait(lambda m: any(p == "mine" for _, p in m), what="dev1's own report")
        assert not any(p == "forged" for _, p in watch.messages())
        # dev1 may not subscribe to dev2's topics nor to wildcards over devices
        for flt in ["cordon/things/dev2/commands", "cordon/things/+/commands", "#",
                    "$aws/things/dev2/defender/metrics/json/accepted"]:
            r = harness.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-t", flt,
                             "-u", "dev1", "-P", "pw-dev1", "-i", "dev1", "-V", "mqttv5",
                             "-W", "2", "-C", "1"], check=False)
            assert "denied" in (r.stdout + r.stderr).lower(), (flt, r.stdout, r.stderr)
        # ... nor read dev2's messages through an allowed-looking subscription
        sub = Subscriber(self.tmp, port, "cordon/things/dev1/commands", user="dev1",
                         password="pw-dev1", client_id="dev1", v5=True)
        server_pub(port, "cordon/things/dev2/commands", "for-dev2")
        server_pub(port, "cordon/things/dev1/commands", "for-dev1")
        sub.wait(lambda m: any(p == "for-dev1" for _, p in m), what="dev1's command")
        assert not any(p == "for-dev2" for _, p in sub.messages())

    def test_03_quarantine_and_release(self):
        port = self.setup()
        devices(self.ctl, "dev1")
        # dev1's own policy grants a fleet topic and telemetry beyond the quarantine policy
        self.ctl.ok({"command": "set-policy", "scope": "thing", "thing": "dev1",
                     "publish": ["$aws/things/${thing}/defender/metrics/json",
                                 "cordon/things/${thing}/telemetry"],
                     "subscribe": ["cordon/fleet/broadcast", "cordon/things/${thing}/commands"]})
        watch = Subscriber(self.tmp, port, ["cordon/#", "$aws/things/+/defender/metrics/json"],
                           user=SERVER_IDENTITY, password=SERVER_PASSWORD, v5=True)
        # MQTT 3.1.1 subscriber with a persistent session: it reconnects after a kick and its
        # session keeps the broadcast subscription, so only the READ check can stop deliveries
        sub = Proc("dev1-sub", ["mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-v", "-q", "1",
                                "-c", "-i", "dev1", "-u", "dev1", "-P", "pw-dev1",
                                "-t", "cordon/fleet/broadcast", "-t", "cordon/things/dev1/commands"],
                   self.tmp)
        time.sleep(0.4)

        def got(payload):
            return any(l.endswith(" " + payload) for l in sub.log().splitlines())

        server_pub(port, "cordon/fleet/broadcast", "b-before")
        wait_for(lambda: got("b-before"), what="broadcast before quarantine")
        assert accepted(dev_pub(port, "dev1", "cordon/things/dev1/telemetry", "t-before"))

        res = self.ctl.ok({"command": "quarantine", "thing": "dev1", "correlationId": "q1"})
        assert res[0] == {"command": "quarantine", "correlationId": "q1", "ok": True}, res
        # its next publish outside the quarantine policy is refused (PUBACK 0x87)...
        assert denied(dev_pub(port, "dev1", "cordon/things/dev1/telemetry", "t-during"))
        # ...its evidence keeps flowing...
        assert accepted(dev_pub(port, "dev1", report_topic("dev1"), "report-during"))
        watch.wait(lambda m: any(p == "report-during" for _, p in m), what="quarantined report")
        assert not any(p == "t-during" for _, p in watch.messages())
        # ...its session was kicked...
        wait_for(lambda: "kicked identity dev1" in self.broker.log(), what="kick of dev1")
        wait_for(lambda: "as dev1 (p2" in self.broker.log().partition("kicked identity dev1")[2],
                 what="dev1's subscriber to reconnect")
        # ...and its subscriptions stop receiving what the quarantine policy does not allow
        server_pub(port, "cordon/fleet/broadcast", "b-during")
        server_pub(port, "cordon/things/dev1/commands", "cmd-during")
        wait_for(lambda: got("cmd-during"), what="command delivered in quarantine")
        time.sleep(0.5)
        assert not got("b-during"), sub.log()

        st = self.ctl.ok({"command": "get-state"})[0]["state"]
        assert st["quarantined"] == ["dev1"], st

        self.ctl.ok({"command": "release", "thing": "dev1"})
        assert accepted(dev_pub(port, "dev1", "cordon/things/dev1/telemetry", "t-after"))
        watch.wait(lambda m: any(p == "t-after" for _, p in m), what="telemetry after release")
        time.sleep(0.5)  # the release kick; the subscriber reconnects into its normal policy
        wait_for(lambda: (server_pub(port, "cordon/fleet/broadcast", "b-after") or True)
                 and got("b-after"), timeout=10, interval=0.5, what="broadcast after release")
        sub.stop()

    def test_04_quarantine_survives_restart_without_server(self):
        port = self.setup()
        devices(self.ctl, "dev1")
        self.ctl.ok({"command": "quarantine", "thing": "dev1"})
        self.ctl.stop()
        state = json.load(open(self.broker.state_file))
        assert state["quarantined"] == ["dev1"], state
        self.broker.restart()  # no server, no control message: state comes from the file
        assert denied(dev_pub(port, "dev1", "cordon/things/dev1/commands/result", "x"))
        assert accepted(dev_pub(port, "dev1", report_topic("dev1"), "evidence"))
        assert not os.path.exists(self.broker.state_file + ".new")
        # a configuration reload (SIGHUP) keeps the plugin in charge
        self.broker.send_signal(signal.SIGHUP)
        wait_for(lambda: "Reloading config" in self.broker.log(), what="reload")
        assert denied(dev_pub(port, "dev1", "cordon/things/dev1/commands/result", "x"))
        assert accepted(dev_pub(port, "dev1", report_topic("dev1"), "evidence"))

    def test_05_corrupt_state_stops_the_broker(self):
        tmp = TempDir()
        state = tmp.file("broker-state.json", '{"version":1,"identities":{"dev1":{"passwordHa')
        try:
            CordonBroker(tmp, opts={"state_file": state})
        except RuntimeError as e:
            msg = str(e)
        else:
            raise AssertionError("the broker started on a corrupt state file")
        assert "is corrupt" in msg and state in msg and "refusing to start" in msg, msg
        # a well-formed file with an invalid entry is corrupt too
        tmp.file("broker-state.json", json.dumps(
            {"version": 1, "identities": {}, "quarantined": ["a/b"], "revoked": [],
             "policies": {}}))
        try:
            CordonBroker(tmp, opts={"state_file": state}, name="mosquitto2")
        except RuntimeError as e:
            assert "quarantined[0]" in str(e), str(e)
        else:
            raise AssertionError("the broker started with an invalid quarantine entry")
        # a missing file is an empty first start, and the file is written at once
        fresh = os.path.join(tmp.path, "fresh.json")
        b = CordonBroker(tmp, opts={"state_file": fresh}, name="mosquitto3")
        b.stop()
        assert json.load(open(fresh))["quarantined"] == []
        # a state file that cannot be written stops the broker too
        try:
            CordonBroker(tmp, opts={"state_file": os.path.join(tmp.path, "no", "dir.json")},
                         name="mosquitto4")
        except RuntimeError as e:
            assert "could not be persisted" in str(e), str(e)
        else:
            raise AssertionError("the broker started with an unwritable state file")

    def test_06_forged_control_is_denied(self):
        port = self.setup()
        devices(self.ctl, "dev1", "dev2")
        forged = json.dumps({"commands": [{"command": "release", "thing": "dev2"},
                                          {"command": "quarantine", "thing": "dev2"}]})
        assert denied(dev_pub(port, "dev1", "$CONTROL/cordon/v1", forged))
        r = harness.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-t", "$CONTROL/#",
                         "-u", "dev1", "-P", "pw-dev1", "-i", "dev1", "-V", "mqttv5",
                         "-W", "2", "-C", "1"], check=False)
        assert "denied" in (r.stdout + r.stderr).lower(), r
        # even a policy that lists $CONTROL cannot open it to a device
        self.ctl.ok({"command": "set-policy", "scope": "thing", "thing": "dev1",
                     "publish": ["$CONTROL/#"], "subscribe": []})
        assert denied(dev_pub(port, "dev1", "$CONTROL/cordon/v1", forged))
        st = self.ctl.ok({"command": "get-state"})[0]["state"]
        assert st["quarantined"] == [], st

    def test_07_malformed_control_messages(self):
        port = self.setup()
        devices(self.ctl, "dev1")
        before = open(self.broker.state_file).read()
        for raw in ["not json", "[]", '{"commands":[]}', '{"commands":{}}', '{"cmds":[]}']:
            res = self.ctl.send_raw(raw)["responses"]
            assert len(res) == 1 and res[0]["ok"] is False and res[0]["error"], (raw, res)
        res = self.ctl.send(
            {"command": "explode", "thing": "dev1", "correlationId": "e1"},
            {"command": "quarantine", "correlationId": "e2"},
            {"command": "quarantine", "thing": "dev/1", "correlationId": "e3"},
            {"command": "set-policy", "scope": "default", "publish": ["a/#/b"], "subscribe": [],
             "correlationId": "e4"},
            {"command": "set-credentials", "thing": "dev1", "passwordHash": "plain",
             "correlationId": "e5"},
            {"command": "quarantine", "thing": "dev1", "bogus": 1, "correlationId": "e6"})
        assert [r["correlationId"] for r in res] == ["e1", "e2", "e3", "e4", "e5", "e6"]
        assert all(r["ok"] is False and r["error"] for r in res), res
        assert "unknown command" in res[0]["error"]
        assert open(self.broker.state_file).read() == before, "a bad command changed the state"
        assert accepted(dev_pub(port, "dev1", "cordon/things/dev1/logs"))

    def test_08_cloud_metrics(self):
        port = self.setup()
        devices(self.ctl, "dev1")
        msub = Subscriber(self.tmp, port, CONTROL_METRICS_TOPIC, user=SERVER_IDENTITY,
                          password=SERVER_PASSWORD, v5=True)
        t0 = time.time()
        for i in range(3):
            assert accepted(dev_pub(port, "dev1", report_topic("dev1"), "x" * (100 * (i + 1))))
        assert dev_pub(port, "dev1", report_topic("dev1"), password="bad").returncode != 0
        assert denied(dev_pub(port, "dev1", "cordon/things/dev2/logs", "no"))
        dev_pub(port, "ghost", report_topic("ghost"))
        # 5 connection attempts (1 refused), 4 sessions ended, 3 messages of 100+200+300 bytes
        want = {"aws:num-connection-attempts": 5, "cordon:num-authentication-failures": 1,
                "aws:num-authorization-failures": 1, "aws:num-messages-sent": 3,
                "cordon:bytes-sent": 600, "aws:num-disconnects": 4}

        def totals():
            tot, maxb, ip, unknown = {}, 0, None, 0
            for _, payload in msub.messages(CONTROL_METRICS_TOPIC):
                m = json.loads(payload)
                assert m["intervalSeconds"] == 1
                assert m["timestamp"] / 1000 > t0 - 5
                unknown += m["unknown"]["aws:num-connection-attempts"]
                for t in m["things"]:
                    if t["thing"] != "dev1":
                        continue
                    for k in want:
                        tot[k] = tot.get(k, 0) + t[k]
                    maxb = max(maxb, t["aws:message-byte-size"])
                    ip = t.get("aws:source-ip-address", ip)
            return tot, maxb, ip, unknown

        wait_for(lambda: totals()[0] == want, timeout=10, what=f"metrics totals {want}")
        tot, maxb, ip, unknown = totals()
        assert maxb == 300 and ip == "127.0.0.1" and unknown == 1, (tot, maxb, ip, unknown)

    def test_09_revoke_kicks_and_refuses(self):
        port = self.setup()
        devices(self.ctl, "dev1")
        sub = Subscriber(self.tmp, port, "cordon/things/dev1/commands", user="dev1",
                         password="pw-dev1", client_id="dev1", v5=True)
        server_pub(port, "cordon/things/dev1/commands", "c1")
        sub.wait(lambda m: m, what="first command")
        self.ctl.ok({"command": "revoke", "thing": "dev1"})
        wait_for(lambda: sub.poll() is not None, what="revoked session to be kicked")
        assert dev_pub(port, "dev1", report_topic("dev1")).returncode != 0
        st = self.ctl.ok({"command": "get-state"})[0]["state"]
        assert st["revoked"] == ["dev1"] and st["identities"] == [], st
        # new credentials lift the revocation
        self.ctl.ok({"command": "set-credentials", "thing": "dev1", "password": "pw-dev1"})
        assert accepted(dev_pub(port, "dev1", report_topic("dev1")))

    def test_10_policy_change_stops_deliveries_at_once(self):
        port = self.setup()
        devices(self.ctl, "dev1")
        self.ctl.ok({"command": "set-policy", "scope": "thing", "thing": "dev1", "publish": [],
                     "subscribe": ["cordon/fleet/#"]})
        sub = Subscriber(self.tmp, port, "cordon/fleet/#", user="dev1", password="pw-dev1",
                         client_id="dev1", v5=True)
        server_pub(port, "cordon/fleet/a", "a1")
        sub.wait(lambda m: m, what="fleet message")
        # narrower policy, no kick: the READ check alone stops the existing subscription
        self.ctl.ok({"command": "set-policy", "scope": "thing", "thing": "dev1", "publish": [],
                     "subscribe": ["cordon/fleet/b"]})
        server_pub(port, "cordon/fleet/a", "a2")
        server_pub(port, "cordon/fleet/b", "b1")
        sub.wait(lambda m: any(p == "b1" for _, p in m), what="allowed fleet message")
        assert not any(p == "a2" for _, p in sub.messages()), sub.messages()
        assert sub.poll() is None, "no kick expected"

    def test_11_certificate_listener(self):
        tmp = TempDir()
        pki = harness.make_pki(tmp, ["cam1", "cam2"])
        tport = harness.free_port()
        self.tmp = tmp
        self.broker = CordonBroker(tmp, extra=harness.tls_listener_conf(tport, pki))
        harness.wait_port(tport, proc=self.broker)
        self.ctl = Control(tmp, self.broker.port)
        self.ctl.ok({"command": "set-credentials", "thing": "cam1", "certificate": True})
        msub = Subscriber(tmp, self.broker.port, CONTROL_METRICS_TOPIC, user=SERVER_IDENTITY,
                          password=SERVER_PASSWORD, v5=True)

        def cam(name, topic, payload="{}", client_id=None):
            argv = ["mosquitto_pub", "-h", "127.0.0.1", "-p", tport, "-t", topic, "-m", payload,
                    "-q", "1", "-V", "mqttv5", "-i", client_id or name] + harness.tls_args(pki, name)
            return harness.run(argv, check=False)

        assert accepted(cam("cam1", report_topic("cam1")))
        assert denied(cam("cam1", report_topic("cam2")))
        # unknown CN: the CONNECT cannot be refused on this listener (no BASIC_AUTH in 2.0.11),
        # so the first ACL check denies and the session is kicked
        assert denied(cam("cam2", report_topic("cam2")))
        wait_for(lambda: "kicked identity cam2" in self.broker.log(), what="kick of cam2")
        # client id must be the CN
        assert denied(cam("cam1", report_topic("cam1"), client_id="not-cam1"))
        # a certificate-only identity cannot log in with a password
        r = mqtt_pub(self.broker.port, report_topic("cam1"), "{}", user="cam1", password="x",
                     client_id="cam1", v5=True)
        assert r.returncode != 0
        # quarantine and revoke hold on this listener too
        self.ctl.ok({"command": "quarantine", "thing": "cam1"})
        assert denied(cam("cam1", "cordon/things/cam1/commands/result"))
        assert accepted(cam("cam1", report_topic("cam1")))
        self.ctl.ok({"command": "revoke", "thing": "cam1"})
        assert denied(cam("cam1", report_topic("cam1")))
        # no BASIC_AUTH on this listener: a session's first ACL check counts its connection
        # (6 certificate sessions + 1 password attempt)

        def attempts():
            return sum(t["aws:num-connection-attempts"]
                       for _, pl in msub.messages(CONTROL_METRICS_TOPIC)
                       for t in json.loads(pl)["things"] if t["thing"] == "cam1")
        wait_for(lambda: attempts() == 7, what="7 connection attempts of cam1")

    def test_12_options(self):
        # clientid_must_match false: any client id, policy still keyed on the identity
        port = self.setup(opts={"clientid_must_match": "false"})
        devices(self.ctl, "dev1")
        assert accepted(dev_pub(port, "dev1", report_topic("dev1"), client_id="dev2"))
        assert denied(dev_pub(port, "dev1", report_topic("dev2"), client_id="dev2"))
        self.ctl.ok({"command": "quarantine", "thing": "dev1"})
        assert denied(dev_pub(port, "dev1", "cordon/things/dev1/commands/result",
                              client_id="fresh-id"))
        # the server password may be stored as an Argon2id hash; a typo in an option stops
        # the broker with its name
        tmp = TempDir()
        hashed = json.load(open(self.broker.state_file))["identities"]["dev1"]["passwordHash"]
        pwfile = tmp.file("server.hash", hashed + "\n")
        b = CordonBroker(tmp, opts={"server_password_file": pwfile, "server_identity": "ops"})
        Control(tmp, b.port, user="ops", password="pw-dev1").ok({"command": "get-state"})
        b.stop()
        try:
            CordonBroker(tmp, opts={"metrics_intervall": "5"}, name="mosquitto2")
        except RuntimeError as e:
            assert "unknown option plugin_opt_metrics_intervall" in str(e), str(e)
        else:
            raise AssertionError("the broker started with an unknown option")

    def test_13_exports_only_entry_points(self):
        r = harness.run(["nm", "-D", "--defined-only", harness.PLUGIN])
        syms = sorted(l.split()[-1] for l in r.stdout.splitlines() if l.strip())
        assert syms == ["mosquitto_plugin_cleanup", "mosquitto_plugin_init",
                        "mosquitto_plugin_version"], syms


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    BrokerTest().main()
