"""cordond end to end: real Mosquitto with cordon_mosquitto.so, real cordond,
real SQLite. Reports in, replies out, violations, alerts, quarantine at the
broker, crash recovery, API auth and limits, config plan/apply/export."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
from cordond_harness import Cordond, STACK, report, topic  # noqa: E402


def probe(thing):
    """A topic the default policy allows and the quarantine policy denies."""
    return f"cordon/things/{thing}/commands/result"


def denied(r):
    """mosquitto_pub -V mqttv5 reports a refused QoS 1 publish on stderr."""
    return r.returncode != 0 or "Not authorized" in r.stderr


def allowed(r):
    return r.returncode == 0 and "failed" not in r.stderr


class T(h.Test):
    def setup(self, extra="ingest:\n  throttle_floor: 1s\n"):
        self.tmp = h.TempDir()
        self.broker = h.CordonBroker(self.tmp)
        self.d = Cordond(self.tmp, self.broker.port, extra=extra)
        self.api = self.d.api
        self.sub = h.Subscriber(self.tmp, self.broker.port,
                                ["$aws/things/+/defender/metrics/json/+", "alerts/#",
                                 h.CONTROL_RESPONSE_TOPIC],
                                user=h.SERVER_IDENTITY, password=h.SERVER_PASSWORD, name="watch")

    def device(self, name):
        self.api.ok("POST", "/api/v1/things", {"thingName": name, "attributes": {"site": "a"}})
        pw = self.api.ok("POST", f"/api/v1/things/{name}/credentials", {"type": "password"})
        assert "password" in pw and len(pw["password"]) >= 24, pw
        # the plugin learns the credential through the outbox
        h.wait_for(lambda: allowed(h.mqtt_pub(self.broker.port, probe(name), "x",
                                              user=name, password=pw["password"],
                                              client_id=name, v5=True)),
                   what="device credentials active at the broker")
        return pw["password"]

    def pub(self, name, pw, payload, rc_ok=True):
        r = h.mqtt_pub(self.broker.port, topic(name), payload, user=name, password=pw,
                       client_id=name, v5=True)
        if rc_ok:
            assert r.returncode == 0, r.stderr
        return r

    def replies(self, name, kind):
        return [json.loads(p) for t, p in self.sub.messages(topic(name) + "/" + kind)]

    def test_1_reports_accepted_rejected(self):
        self.setup()
        pw = self.device("pump-1")
        self.pub("pump-1", pw, report(1000))
        acc = self.sub.wait(lambda m: m, topic_prefix=topic("pump-1") + "/accepted")
        a = json.loads(acc[0][1])
        assert a["status"] == "ACCEPTED" and a["reportId"] == 1000 and a["thingName"] == "pump-1", a
        dps = self.api.ok("GET", "/api/v1/things/pump-1/datapoints?kind=report")["datapoints"]
        assert len(dps) == 1 and dps[0]["reportId"] == 1000, dps
        # bad port -> InvalidField
        self.pub("pump-1", pw, report(2000, tcp=(70000,)))
        # same id again -> DuplicateReportId
        self.pub("pump-1", pw, report(1000))
        # too fast -> Throttled
        self.pub("pump-1", pw, report(3000))
        # not JSON -> InvalidPayload
        self.pub("pump-1", pw, "{nope")
        rej = self.sub.wait(lambda m: len(m) >= 4 and m,
                            topic_prefix=topic("pump-1") + "/rejected")
        codes = [json.loads(p)["statusDetails"]["ErrorCode"] for _, p in rej]
        assert codes == ["InvalidField", "DuplicateReportId", "Throttled", "InvalidPayload"], codes
        msg = json.loads(rej[0][1])["statusDetails"]["ErrorMessage"]
        assert "port" in msg, msg
        assert self.d.metric('cordon_reports_rejected_total{code="Throttled"}') == 1
        assert self.d.metric("cordon_reports_accepted_total") == 1

    def test_2_violation_alert_quarantine_release(self):
        self.setup(extra="ingest:\n  throttle_floor: 0s\n")
        plan = self.api.ok("POST", "/api/v1/config/plan", raw=STACK)
        kinds = sorted((c["action"], c["kind"], c["name"]) for c in plan["changes"])
        assert ("create", "securityProfile", "DeviceRuleBaseline") in kinds, kinds
        assert ("create", "thingGroup", "plant-a") in kinds, kinds
        self.api.ok("POST", "/api/v1/config/apply", raw=STACK)
        pw = self.device("pump-2")
        self.pub("pump-2", pw, report(1, tcp=(22, 443)))
        self.sub.wait(lambda m: m, topic_prefix=topic("pump-2") + "/accepted")
        # port 4444 is outside the allow-list
        self.pub("pump-2", pw, report(2, tcp=(22, 443, 4444)))
        alerts = self.sub.wait(lambda m: m, topic_prefix="alerts/defender", what="alert")
        al = json.loads(alerts[0][1])
        assert al["violationEventType"] == "in-alarm" and al["thingName"] == "pump-2", al
        assert 4444 in al["metricValue"]["ports"], al
        vs = self.api.ok("GET", "/api/v1/violations?active=true&thing=pump-2")["violations"]
        assert len(vs) == 1 and vs[0]["violationId"] == al["violationId"], vs
        # the quarantine control command went to the plugin (the plugin consumes
        # $CONTROL/cordon/v1; its answer is on .../response); the thing is in QUARANTINED
        self.sub.wait(lambda m: any('"quarantine"' in p and '"ok":true' in p for _, p in m),
                      topic_prefix=h.CONTROL_RESPONSE_TOPIC, what="quarantine response")
        g = self.api.ok("GET", "/api/v1/groups/QUARANTINED")
        assert g["things"] == ["pump-2"], g
        h.wait_for(lambda: any(a["status"] == "succeeded" for a in self.api.ok(
            "GET", f"/api/v1/violations/{al['violationId']}")["actions"]),
            what="quarantine action acknowledged by the plugin")
        # the broker now denies the thing's publishes outside the quarantine policy
        r = h.mqtt_pub(self.broker.port, probe("pump-2"), "x", user="pump-2",
                       password=pw, client_id="pump-2", v5=True)
        assert denied(r), (r.returncode, r.stderr)
        # verification state
        v = self.api.ok("PUT", f"/api/v1/violations/{al['violationId']}/verification",
                        {"state": "TRUE_POSITIVE", "description": "port 4444 is a backdoor"})
        assert v["verificationState"] == "TRUE_POSITIVE", v
        # release restores publishing
        self.api.ok("DELETE", "/api/v1/quarantine/pump-2")
        h.wait_for(lambda: allowed(h.mqtt_pub(
            self.broker.port, probe("pump-2"), "x", user="pump-2", password=pw,
            client_id="pump-2", v5=True)), what="publish allowed again")
        assert self.api.ok("GET", "/api/v1/groups/QUARANTINED")["things"] == []
        # export round trip: the applied stack comes back
        st, text = self.api.call("GET", "/api/v1/config/export")
        assert st == 200 and "DeviceRuleBaseline" in text and "plant-a" in text, text
        plan = self.api.ok("POST", "/api/v1/config/plan", raw=text)
        assert plan["changes"] == [], plan
        g = self.api.ok("GET", "/api/v1/groups/plant-a")
        assert g["attributes"] == {"site": "lyon", "tier": "1"}, g

    def test_3_crash_restart(self):
        self.setup(extra="ingest:\n  throttle_floor: 0s\n")
        self.api.ok("POST", "/api/v1/config/apply", raw=STACK)
        pw = self.device("pump-3")
        for rid in range(1, 21):
            self.pub("pump-3", pw, report(rid))
        acc = self.sub.wait(lambda m: len(m) >= 20 and m,
                            topic_prefix=topic("pump-3") + "/accepted")
        self.pub("pump-3", pw, report(21, tcp=(22, 5555)))
        self.sub.wait(lambda m: m, topic_prefix="alerts/defender", what="alert")
        h.wait_for(lambda: self.api.ok("GET", "/api/v1/groups/QUARANTINED")["things"] == ["pump-3"],
                   what="quarantined")
        self.d.restart(kill9=True)
        api = self.d.api
        dps = api.ok("GET", "/api/v1/things/pump-3/datapoints?kind=report&limit=1000")["datapoints"]
        assert len(dps) == 21, len(dps)  # every accepted report survived
        t = api.ok("GET", "/api/v1/things/pump-3")
        assert t["lastReportId"] == 21 and t["quarantined"], t
        vs = api.ok("GET", "/api/v1/violations?active=true&thing=pump-3")["violations"]
        assert len(vs) == 1, vs
        # the broker still holds the quarantine; cordond reconciled without lifting it
        r = h.mqtt_pub(self.broker.port, probe("pump-3"), "x", user="pump-3",
                       password=pw, client_id="pump-3", v5=True)
        assert denied(r), r
        # a replayed old report id is a duplicate after the restart too
        self.pub("pump-3", pw, report(5))
        rej = self.sub.wait(lambda m: m, topic_prefix=topic("pump-3") + "/rejected")
        assert json.loads(rej[-1][1])["statusDetails"]["ErrorCode"] == "DuplicateReportId"
        assert len(acc) >= 20

    def test_4_api_auth_and_limits(self):
        self.setup()
        st, body = self.api.call("GET", "/api/v1/things", token=None)
        assert st == 401 and body["error"]["code"] == "unauthorized", (st, body)
        st, body = self.api.call("GET", "/api/v1/things", token="cdt_nope0000")
        assert st == 401, st
        viewer = self.api.ok("POST", "/api/v1/tokens", {"name": "v", "role": "viewer"})["token"]
        st, body = self.api.call("GET", "/api/v1/things", token=viewer)
        assert st == 200, (st, body)
        st, body = self.api.call("POST", "/api/v1/things", {"thingName": "x"}, token=viewer)
        assert st == 403 and body["error"]["code"] == "forbidden", (st, body)
        st, body = self.api.call("POST", "/api/v1/quarantine/x", token=viewer)
        assert st == 403, st
        st, body = self.api.call("POST", "/api/v1/things", raw=b"x" * (2 * 1024 * 1024))
        assert st == 413 and body["error"]["code"] == "too_large", (st, body)
        st, body = self.api.call("POST", "/api/v1/config/apply",
                                 raw="thingGroups:\n  - name: a\n    bogus: 1\n",
                                 headers={"X-Cordon-Filename": "fleet.yaml"})
        assert st == 422 and body["error"]["code"] == "invalid_config", (st, body)
        assert body["error"]["message"].startswith("fleet.yaml:3:"), body
        st, body = self.api.call("GET", "/api/v1/things/none")
        assert st == 404, st
        st, body = self.api.call("POST", "/api/v1/things", {"thingName": "a/b"})
        assert st == 400, st
        st, body = self.api.call("GET", "/healthz", token=None)
        assert st == 200 and body["status"] == "ok"
        st, doc = self.api.call("GET", "/api/v1/openapi.json", token=None)
        assert st == 200 and "/api/v1/violations/{id}/verification" in doc["paths"], doc
        cert = self.api.ok("POST", "/api/v1/things", {"thingName": "cam-1"})
        cert = self.api.ok("POST", "/api/v1/things/cam-1/credentials", {"type": "certificate"})
        assert "BEGIN CERTIFICATE" in cert["certificatePem"] and "PRIVATE KEY" in cert[
            "privateKeyPem"], cert.keys()
        log = self.d.log()
        assert "cdt_" not in log and "PRIVATE" not in log, "secret in the log"


if __name__ == "__main__":
    T().main()
