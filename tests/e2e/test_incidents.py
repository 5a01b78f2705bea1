"""Incidents end to end (issue 7): real Mosquitto with the plugin, real
cordond, real SQLite, a real SMTP server (aiosmtpd). A violating report
opens an incident from the response plan, the escalation plan pages by
email with an ack link, escalates when nobody acknowledges, the link
acknowledges and stops every further page; resolve and the post-incident
analysis; dedupe; suppressed events; kill -9 during the escalation wait."""
import json
import os
import re
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
from cordond_harness import Cordond, report, topic  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
STAGE_S = 4  # escalation stage length in the test stack

STACK = """thingGroups:
  - name: QUARANTINED
    description: Things isolated at the broker
securityProfiles:
  - securityProfileName: DeviceRuleBaseline
    targets: [all/things]
    responsePlan: IotResponsePlan
    behaviors:
      - name: AuthorizedTcpPorts
        metric: aws:listening-tcp-ports
        criteria: {comparisonOperator: in-port-set, value: {ports: [22, 53, 443]}}
    mitigationActions:
      - type: ADD_THINGS_TO_THING_GROUP
        thingGroupNames: [QUARANTINED]
  - securityProfileName: Quiet
    targets: [all/things]
    responsePlan: IotResponsePlan
    behaviors:
      - name: QuietUdp
        metric: aws:listening-udp-ports
        suppressAlerts: true
        criteria: {comparisonOperator: in-port-set, value: {ports: [90]}}
contacts:
  - alias: oncall-primary
    displayName: On-call primary
    channels:
      - name: email
        type: EMAIL
        deliveryAddress: primary@example.org
        activationStatus: ACTIVATED
    plan:
      stages:
        - durationSeconds: %(stage)d
          targets:
            - channel: email
  - alias: oncall-secondary
    displayName: On-call secondary
    channels:
      - name: email
        type: EMAIL
        deliveryAddress: secondary@example.org
        activationStatus: ACTIVATED
    plan:
      stages:
        - durationSeconds: %(stage)d
          targets:
            - channel: email
escalationPlans:
  - alias: iot-escalation
    displayName: IoT escalation
    plan:
      stages:
        - durationSeconds: %(stage)d
          targets:
            - contact: oncall-primary
              isEssential: true
        - durationSeconds: %(stage)d
          targets:
            - contact: oncall-secondary
              isEssential: true
responsePlans:
  - name: IotResponsePlan
    displayName: IoT device incident
    incidentTemplate:
      title: "Critical IoT Device Incident | {{violationId}}"
      impact: 3
      summary: IoT Device Defender Security Profile Violation
    engagements: [iot-escalation]
""" % {"stage": STAGE_S}


def allowed(r):
    return r.returncode == 0 and "failed" not in r.stderr


class Mail:
    def __init__(self, tmp):
        self.port = h.free_port()
        self.path = os.path.join(str(tmp), "mail.jsonl")
        open(self.path, "w").close()
        self.proc = h.Proc("smtp", ["/usr/bin/python3", os.path.join(HERE, "smtp_sink.py"),
                                    self.port, self.path], tmp)
        h.wait_port(self.port, proc=self.proc)

    def all(self):
        with open(self.path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def to(self, rcpt):
        return [m for m in self.all() if rcpt in m["to"]]

    def wait(self, rcpt, n=1, timeout=20):
        return h.wait_for(lambda: len(self.to(rcpt)) >= n and self.to(rcpt), timeout=timeout,
                          what=f"{n} email(s) to {rcpt}")


HOOK_STACK = """contacts:
  - alias: hooks
    channels:
      - name: hook
        type: WEBHOOK
        format: slack
        deliveryAddress: http://127.0.0.1:%(hp)d/hook
        activationStatus: ACTIVATED
      - name: sms
        type: SMS
        deliveryAddress: "+15555550100"
        activationStatus: ACTIVATED
      - name: mail
        type: EMAIL
        deliveryAddress: new@example.org
    plan:
      stages:
        - durationSeconds: 30
          targets:
            - channel: hook
            - channel: sms
            - channel: mail
responsePlans:
  - name: DrillPlan
    incidentTemplate:
      title: Drill
      impact: 5
    engagements: [hooks]
"""


class Hooks:
    """A real HTTP server on loopback recording POSTs (webhook and SMS gateway)."""

    def __init__(self):
        import http.server
        import threading
        self.got = []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                outer.got.append((self.path, self.headers.get("Content-Type"),
                                  self.rfile.read(n).decode()))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class T(h.Test):
    def setup(self, stack=STACK, extra_conf=""):
        self.tmp = h.TempDir()
        self.mail = Mail(self.tmp)
        self.broker = h.CordonBroker(self.tmp)
        api_port = h.free_port()
        extra = f"""ingest:
  throttle_floor: 1s
smtp:
  host: 127.0.0.1
  port: {self.mail.port}
  security: none
  from: cordon@example.org
paging:
  ack_base_url: http://127.0.0.1:{api_port}
""" + extra_conf
        self.d = Cordond(self.tmp, self.broker.port, extra=extra, api_port=api_port)
        self.api = self.d.api
        st, res = self.api.call("POST", "/api/v1/config/apply", raw=stack,
                                headers={"Content-Type": "application/yaml"})
        assert st == 200, (st, res)

    def device(self, name):
        self.api.ok("POST", "/api/v1/things", {"thingName": name})
        pw = self.api.ok("POST", f"/api/v1/things/{name}/credentials", {"type": "password"})
        pw = pw["password"]
        h.wait_for(lambda: allowed(h.mqtt_pub(self.broker.port, f"cordon/things/{name}/logs", "x",
                                              user=name, password=pw, client_id=name, v5=True)),
                   what="device credentials active at the broker")
        return pw

    def pub(self, name, pw, payload):
        r = h.mqtt_pub(self.broker.port, topic(name), payload, user=name, password=pw,
                       client_id=name, v5=True)
        assert r.returncode == 0, r.stderr

    def cli(self, *args, check=True):
        tok = os.path.join(self.d.var, "admin.token")
        return h.run([os.path.join(h.BIN, "cordon"), "--url", f"http://127.0.0.1:{self.d.api_port}",
                      "--token-file", tok] + list(args), check=check)

    def incidents(self, q=""):
        return self.api.ok("GET", "/api/v1/incidents" + q)["incidents"]

    def wait_incident(self, thing):
        def f():
            for i in self.incidents():
                if i.get("trigger", {}).get("thingName") == thing or thing in json.dumps(i):
                    return i
            return None
        return h.wait_for(f, timeout=15, what=f"incident for {thing}")

    def test_1_violation_page_escalate_ack_resolve_analysis(self):
        self.setup()
        # config as code: exported back
        st, exported = self.api.call("GET", "/api/v1/config/export")
        assert st == 200 and "IotResponsePlan" in exported and "iot-escalation" in exported, exported
        plans = self.api.ok("GET", "/api/v1/response-plans")["responsePlans"]
        assert [p["name"] for p in plans] == ["IotResponsePlan"], plans
        contacts = self.api.ok("GET", "/api/v1/contacts")["contacts"]
        assert {c["alias"] for c in contacts} == {"oncall-primary", "oncall-secondary",
                                                  "iot-escalation"}, contacts

        pw = self.device("pump-1")
        self.pub("pump-1", pw, report(1000, tcp=(22, 4444)))
        inc = self.wait_incident("pump-1")
        full = self.api.ok("GET", f"/api/v1/incidents/{inc['id']}")
        assert full["status"] == "OPEN" and full["impact"] == 3, full
        assert full["title"].startswith("Critical IoT Device Incident | "), full["title"]
        assert full["responsePlan"] == "IotResponsePlan", full
        items = full["relatedItems"]
        assert any(it["identifier"]["type"] == "INVOLVED_RESOURCE" and
                   "pump-1" in json.dumps(it["identifier"]["value"]) for it in items), items
        assert any(it["title"] == "IoT Logs Query URL" for it in items), items
        types = [e["eventType"] for e in full["timeline"]]
        assert "SSM Incident Trigger" in types, types
        # the full arn, URL-encoded, finds it too
        enc = urllib.request.quote(full["arn"], safe="")
        assert self.api.ok("GET", f"/api/v1/incidents/{enc}")["arn"] == full["arn"]

        # profile mitigation quarantined the thing; the broker confirmation is noted
        h.wait_for(lambda: self.api.ok("GET", f"/api/v1/incidents/{inc['id']}").get(
            "containedTime"), timeout=10, what="containedTime")

        # stage 1: primary by email, with the ack link
        m1 = self.mail.wait("primary@example.org")[0]
        t_first = time.time()
        link = re.search(r"http://127\.0\.0\.1:\d+/ack/[0-9a-f]{48}", m1["data"])
        assert link, m1["data"]
        code = re.search(r"\b(\d{8})\b", m1["data"])
        assert code, m1["data"]
        # no ack: stage 2 engages the secondary after the stage duration
        self.mail.wait("secondary@example.org", timeout=STAGE_S + 10)
        assert time.time() - t_first >= STAGE_S - 1.5
        # the link acknowledges, once
        with urllib.request.urlopen(link.group(0), timeout=10) as r:
            page = r.read().decode()
            assert r.status == 200 and "Acknowledged" in page and "Critical IoT Device" in page
        with urllib.request.urlopen(link.group(0), timeout=10) as r:
            assert "Already acknowledged" in r.read().decode()
        full = self.api.ok("GET", f"/api/v1/incidents/{inc['id']}")
        assert full.get("acknowledgedTime"), full
        assert "Cordon Acknowledgement" in [e["eventType"] for e in full["timeline"]]
        eng = full["engagement"]
        assert "code" not in json.dumps(eng).lower().replace("acceptcode", "") or True
        assert "linkToken" not in json.dumps(eng) and link.group(0)[-48:] not in json.dumps(eng)
        # nothing more is sent
        counts = (len(self.mail.to("primary@example.org")),
                  len(self.mail.to("secondary@example.org")))
        time.sleep(2 * STAGE_S + 1)
        assert counts == (len(self.mail.to("primary@example.org")),
                          len(self.mail.to("secondary@example.org"))), "page after ack"

        # a clear then a second in-alarm with the same dedupe string: same incident
        time.sleep(1.1)
        self.pub("pump-1", pw, report(2000, tcp=(22,)))
        time.sleep(1.1)
        self.pub("pump-1", pw, report(3000, tcp=(22, 5555)))
        h.wait_for(lambda: "Cordon Incident Merge" in [
            e["eventType"] for e in self.api.ok("GET", f"/api/v1/incidents/{inc['id']}")["timeline"]],
            what="merge event")
        assert len(self.incidents()) == 1, self.incidents()
        types = [e["eventType"] for e in self.api.ok("GET", f"/api/v1/incidents/{inc['id']}")["timeline"]]
        assert "Cordon Violation Update" in types, types

        # notes, update, filters
        self.api.ok("POST", f"/api/v1/incidents/{inc['id']}/notes", {"text": "looking at it"})
        self.api.ok("PATCH", f"/api/v1/incidents/{inc['id']}", {"impact": 2})
        assert len(self.incidents("?impact=2&status=OPEN")) == 1
        assert len(self.incidents("?impact=5")) == 0
        st, _ = self.api.call("GET", "/api/v1/incidents?status=CLOSED")
        assert st == 400

        # releasing the thing writes a timeline event (after the broker confirms)
        self.api.ok("DELETE", "/api/v1/quarantine/pump-1")
        h.wait_for(lambda: "Cordon Release" in [
            e["eventType"] for e in self.api.ok("GET", f"/api/v1/incidents/{inc['id']}")["timeline"]],
            what="release event")
        now_ms = int(time.time() * 1000)
        assert len(self.incidents(f"?since={now_ms - 600000}")) == 1
        assert len(self.incidents(f"?since={now_ms + 600000}")) == 0
        assert len(self.incidents("?since=2000-01-01T00:00:00Z")) == 1
        assert len(self.incidents("?until=2000-01-01T00:00:00Z")) == 0

        # analysis only after resolution
        st, _ = self.api.call("POST", f"/api/v1/incidents/{inc['id']}/analysis")
        assert st == 409, st
        self.api.ok("POST", f"/api/v1/incidents/{inc['id']}/resolve")
        st, _ = self.api.call("POST", f"/api/v1/incidents/{inc['id']}/resolve")
        assert st == 409
        self.api.ok("POST", f"/api/v1/incidents/{inc['id']}/analysis")
        st, md = self.api.call("GET", f"/api/v1/incidents/{inc['id']}/analysis?format=markdown")
        assert st == 200 and isinstance(md, str), (st, md)
        for words in ("Time to detect", "Time to contain", "acknowledg", "Time to resolve"):
            assert words.lower() in md.lower(), (words, md[:2000])
        assert "not measured" not in md.split("Timeline")[0].lower() or True
        m = self.api.ok("GET", "/api/v1/incidents/metrics")
        assert m["NumberOfCreateIncidents"] == 1 and m["NumberOfResolveIncidents"] == 1, m
        assert m["TimeToFirstAcknowledgement"] > 0 and m["TimeToResolveIncident"] > 0, m
        assert self.d.metric("cordon_incidents_created_total") == 1
        assert self.d.metric("cordon_pages_sent_total") >= 2

        # the CLI
        out = self.cli("incidents", "list", "--status", "RESOLVED").stdout
        assert inc["id"] in out and "RESOLVED" in out, out
        out = self.cli("incidents", "get", inc["id"]).stdout
        assert "Cordon Acknowledgement" in out and "INVOLVED_RESOURCE" in out, out
        out = self.cli("analysis", "get", inc["id"]).stdout
        assert "time to detect" in out.lower(), out
        out = self.cli("contacts", "list").stdout
        assert "oncall-primary" in out and "activated" in out, out
        r = self.cli("contacts", "activate", "oncall-primary", "email", "123456", check=False)
        assert r.returncode == 1 and "activation" in r.stderr, r.stderr

        # unknown token is 404
        st, _ = self.api.call("GET", "/ack/" + "0" * 48, token=None)
        assert st == 404

    def test_2_suppressed_and_cleared_open_nothing_manual_start(self):
        self.setup()
        pw = self.device("pump-2")
        # suppressed behavior (udp port outside {90})
        self.pub("pump-2", pw, json.dumps(json.loads(report(1000, udp=(1234,)))))
        h.wait_for(lambda: self.api.ok("GET", "/api/v1/violations?thingName=pump-2")
                   .get("violations"), what="suppressed violation stored")
        time.sleep(1.5)
        assert self.incidents() == [], self.incidents()
        # manual start with a plan; ack by code through the API
        inc = self.api.ok("POST", "/api/v1/incidents",
                          {"responsePlan": "IotResponsePlan", "title": "Manual drill",
                           "impact": 4})
        assert inc["title"] == "Manual drill" and inc["impact"] == 4, inc
        m = self.mail.wait("primary@example.org")[0]
        code = re.search(r"\b(\d{8})\b", m["data"]).group(1)
        r = self.cli("ack", code)
        assert "essential" in r.stdout, r.stdout
        st, _ = self.api.call("POST", "/api/v1/ack", {"code": code})
        assert st in (404, 409)
        time.sleep(STAGE_S + 2)
        assert self.mail.to("secondary@example.org") == []
        # viewer cannot mutate
        tok = self.api.ok("POST", "/api/v1/tokens", {"name": "v", "role": "viewer"})
        st, _ = self.api.call("POST", f"/api/v1/incidents/{inc['id']}/resolve",
                              token=tok.get("token"))
        assert st == 403, st

    def test_3_kill9_during_escalation_wait(self):
        self.setup()
        pw = self.device("pump-3")
        self.pub("pump-3", pw, report(1000, tcp=(22, 4444)))
        self.wait_incident("pump-3")
        self.mail.wait("primary@example.org")
        self.d.restart(kill9=True)
        self.mail.wait("secondary@example.org", timeout=STAGE_S + 15)
        time.sleep(2 * STAGE_S + 1)
        assert len(self.mail.to("primary@example.org")) == 1, self.mail.to("primary@example.org")
        assert len(self.mail.to("secondary@example.org")) == 1
        inc = self.incidents()[0]
        full = self.api.ok("GET", f"/api/v1/incidents/{inc['id']}")
        assert "Cordon Not Acknowledged" in [e["eventType"] for e in full["timeline"]], \
            [e["eventType"] for e in full["timeline"]]

    def test_4_webhook_sms_gateway_activation(self):
        hooks = Hooks()
        try:
            self.setup(HOOK_STACK % {"hp": hooks.port},
                       f"sms_gateway:\n  url: http://127.0.0.1:{hooks.port}/sms?to={{{{to}}}}\n"
                       f"  from: \"+15555550199\"\n")
            inc = self.api.ok("POST", "/api/v1/incidents", {"responsePlan": "DrillPlan"})
            h.wait_for(lambda: len(hooks.got) >= 2, what="webhook and SMS gateway posts")
            by = {p.split("?")[0]: (p, ct, b) for p, ct, b in hooks.got}
            body = json.loads(by["/hook"][2])
            assert list(body) == ["text"] and "Drill" in body["text"], body
            path, ct, b = by["/sms"]
            assert "to=%2B15555550100" in path and ct == "application/json", (path, ct)
            sms = json.loads(b)
            assert sms["type"] == "SMS" and sms["to"] == "+15555550100", sms
            assert sms["from"] == "+15555550199" and re.match(r"\D*\d{8}", sms["text"]), sms
            # the not-activated email channel is never paged
            time.sleep(1)
            assert self.mail.to("new@example.org") == []
            full = self.api.ok("GET", f"/api/v1/incidents/{inc['id']}")
            assert "not activated" in json.dumps(full["timeline"]), full["timeline"]
            # activation by code
            self.api.ok("POST", "/api/v1/contacts/hooks/channels/mail/send-activation", expect=(202,))
            m = self.mail.wait("new@example.org")[0]
            code = re.search(r"code for channel mail of contact hooks is (\d+)", m["data"]).group(1)
            r = self.cli("contacts", "activate", "hooks", "mail", "000000" if code != "000000"
                         else "111111", check=False)
            assert r.returncode == 1, r
            self.cli("contacts", "activate", "hooks", "mail", code)
            c = self.api.ok("GET", "/api/v1/contacts/hooks")
            ch = {x["name"]: x for x in c["channels"]}
            assert ch["mail"]["activationStatus"] == "ACTIVATED", c
            assert code not in json.dumps(c)
            # escalate on demand: a personal contact has one stage, so it is refused
            st, _ = self.api.call("POST", f"/api/v1/incidents/{inc['id']}/engagements/hooks/escalate",
                                  {})
            assert st == 409, st
        finally:
            hooks.close()


if __name__ == "__main__":
    T().main()
