"""Runbooks in cordond end to end (issue 6): real Mosquitto with the plugin,
real cordond, real SQLite, the real `cordon` CLI. Versioned documents and
validation with line numbers, the reference device-incident runbook, an
AWS-written document quarantining through aws:executeAwsApi, python and bash
scripts with outputs, a script timeout that kills the process group, and
kill -9 of cordond during an aws:sleep and an aws:pause."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
from cordond_harness import Cordond  # noqa: E402

CORDON = os.environ.get("CORDON_CLI_BIN") or os.path.join(h.BIN, "cordon")
EXAMPLE = os.path.join(h.SRC, "examples", "runbooks", "device-incident.yaml")

AWS_QUARANTINE = """schemaVersion: '0.3'
description: Quarantine a thing (written for AWS IoT; runs unchanged).
parameters:
  ThingName:
    type: String
mainSteps:
  - name: Containment
    action: aws:executeAwsApi
    inputs:
      Service: iot
      Api: AddThingToThingGroup
      thingGroupName: QUARANTINED
      thingName: '{{ ThingName }}'
  - name: Analysis
    action: aws:pause
    inputs: {}
  - name: Recovery
    action: aws:pause
    inputs: {}
"""

SCRIPTS = """schemaVersion: '0.3'
parameters:
  Name:
    type: String
    default: pump
outputs:
  - Py.Greeting
  - Sh.Line
mainSteps:
  - name: Py
    action: aws:executeScript
    inputs:
      Runtime: python3.11
      Handler: script_handler
      InputPayload:
        name: '{{ Name }}'
      Script: |-
        def script_handler(events, context):
            print("a log line, not the result")
            return {"greeting": "hello " + events["name"], "n": 3}
    outputs:
      - { Name: Greeting, Selector: $.Payload.greeting, Type: String }
      - { Name: N, Selector: $.Payload.n, Type: Integer }
  - name: Sh
    action: aws:executeScript
    inputs:
      Runtime: bash
      Handler: unused
      InputPayload:
        greeting: '{{ Py.Greeting }}'
      Script: |-
        read -r input
        echo "{\\"line\\": \\"bash got $(printf %s "$input" | wc -c) bytes\\"}"
    outputs:
      - { Name: Line, Selector: $.Payload.line, Type: String }
"""

TIMEOUT = """schemaVersion: '0.3'
parameters:
  PidFile:
    type: String
mainSteps:
  - name: Slow
    action: aws:executeScript
    timeoutSeconds: 2
    inputs:
      Runtime: bash
      Handler: x
      InputPayload: {}
      Script: |-
        sleep 300 &
        echo $! > '{{ PidFile }}'
        wait
"""

SLEEP = """schemaVersion: '0.3'
parameters:
  File:
    type: String
mainSteps:
  - name: Before
    action: aws:executeScript
    inputs:
      Runtime: bash
      Handler: x
      InputPayload: {}
      Script: echo before >> '{{ File }}'; echo '{}'
  - name: Nap
    action: aws:sleep
    inputs:
      Duration: PT5S
  - name: After
    action: aws:executeScript
    inputs:
      Runtime: bash
      Handler: x
      InputPayload: {}
      Script: echo after >> '{{ File }}'; echo '{}'
"""

PAUSE = SLEEP.replace("""  - name: Nap
    action: aws:sleep
    inputs:
      Duration: PT5S
""", """  - name: Hold
    action: aws:pause
    inputs: {}
""")

BAD = """schemaVersion: '0.3'
mainSteps:
  - name: Ok
    action: aws:sleep
    inputs:
      Duration: PT1S
  - name: Nope
    action: aws:runInstances
    inputs: {}
"""


HTTP_DOC = """\
schemaVersion: '0.3'
parameters:
  Base: {type: String}
  Path: {type: String, default: /status}
mainSteps:
  - name: Get
    action: cordon:httpRequest
    inputs:
      Url: '{{ Base }}{{ Path }}'
    outputs:
      - {Name: Body, Selector: $.Body, Type: String}
  - name: Put
    action: cordon:httpRequest
    inputs:
      Url: '{{ Base }}/hook'
      Method: PUT
      Headers: {X-Probe: cordon}
      Body: {state: contained}
    outputs:
      - {Name: Type, Selector: "$.Headers['content-type']", Type: String}
"""


def probe(thing):
    return f"cordon/things/{thing}/commands/result"


def denied(r):
    return "Not authorized" in r.stderr


def allowed(r):
    return r.returncode == 0 and "failed" not in r.stderr


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie counts as dead
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].split()[0] != "Z"
    except OSError:
        return False
    return True


class T(h.Test):
    def setup(self, extra="", tmp=None):
        self.tmp = tmp or h.TempDir()
        self.home = os.path.join(self.tmp.path, "home")
        os.makedirs(self.home)
        self.broker = h.CordonBroker(self.tmp)
        self.d = Cordond(self.tmp, self.broker.port, extra="ingest:\n  throttle_floor: 1s\n" + extra)
        self.api = self.d.api

    def cli(self, *args, expect=0):
        e = {k: v for k, v in os.environ.items() if not k.startswith("CORDON_")}
        e.update({"HOME": self.home, "CORDON_URL": f"http://127.0.0.1:{self.d.api_port}",
                  "CORDON_TOKEN_FILE": os.path.join(self.d.var, "admin.token")})
        r = subprocess.run([CORDON, *args], capture_output=True, text=True, env=e, timeout=30,
                           cwd=self.home)
        if expect is not None and r.returncode != expect:
            raise AssertionError(f"cordon {' '.join(args)} -> {r.returncode}\n"
                                 f"stdout: {r.stdout}\nstderr: {r.stderr}")
        return r.stdout, r.stderr

    def put(self, name, text):
        st, res = self.api.call("PUT", f"/api/v1/runbooks/{name}", raw=text,
                                headers={"Content-Type": "application/yaml"})
        assert st in (200, 201), (st, res)
        return res

    def start(self, doc, params):
        return self.api.ok("POST", "/api/v1/executions",
                           {"document": doc, "parameters": params})["executionId"]

    def ex(self, xid):
        return self.api.ok("GET", f"/api/v1/executions/{xid}")

    def wait_status(self, xid, status, step=None, timeout=20):
        def ok():
            x = self.ex(xid)
            if x["status"] == status and (step is None or x.get("currentStep") == step):
                return x
            if x["status"] in ("Success", "Failed", "Cancelled", "TimedOut") and \
                    x["status"] != status:
                raise AssertionError(f"execution ended {x['status']}: {x}")
            return None
        return h.wait_for(ok, timeout=timeout, what=f"execution {status} {step or ''}")

    def device(self, name):
        self.api.ok("POST", "/api/v1/things", {"thingName": name})
        pw = self.api.ok("POST", f"/api/v1/things/{name}/credentials",
                         {"type": "password"})["password"]
        h.wait_for(lambda: allowed(h.mqtt_pub(self.broker.port, probe(name), "x", user=name,
                                              password=pw, client_id=name, v5=True)),
                   what="device credentials active at the broker")
        return pw

    # ------------------------------------------------------------------

    def test_1_documents_versions_validation(self):
        self.setup()
        out, _ = self.cli("runbooks", "put", EXAMPLE)
        assert out.strip() == "device-incident version 1 stored", out
        out, _ = self.cli("runbooks", "put", EXAMPLE)
        assert "version 1 (unchanged)" in out, out
        res = self.put("device-incident", open(EXAMPLE).read() + "\n# edited\n")
        assert res["version"] == 2 and res["created"], res
        out, _ = self.cli("runbooks", "list")
        assert out.split("\n")[1].split() == ["device-incident", "2"], out
        v1 = self.api.ok("GET", "/api/v1/runbooks/device-incident?version=1")
        assert v1["content"] == open(EXAMPLE).read() and v1["latest"] == 2, v1
        out, _ = self.cli("runbooks", "get", "device-incident")
        assert out.endswith("# edited\n"), out
        out, _ = self.cli("runbooks", "validate", EXAMPLE)
        assert "valid (3 steps)" in out, out
        # an unsupported action is refused at PUT with its line
        st, res = self.api.call("PUT", "/api/v1/runbooks/bad", raw=BAD)
        assert st == 422 and "bad:8:" in res["error"]["message"], (st, res)
        assert "aws:runInstances" in res["error"]["message"], res
        path = self.tmp.file("bad.yaml", BAD)
        _, err = self.cli("runbooks", "validate", str(path), expect=1)
        assert "bad.yaml:8:" in err and "aws:runInstances" in err, err
        st, _ = self.api.call("GET", "/api/v1/runbooks/bad")
        assert st == 404

    def test_2_device_incident_reference(self):
        """The reference runbook, started by API with an IncidentId: with the
        incident module the contain function quarantines the incident's
        things; without it (or for an unknown incident) it fails clearly."""
        self.setup()
        self.cli("runbooks", "put", EXAMPLE)
        xid = self.start("device-incident", {"IncidentId": "cordon:incident/none"})
        x = self.wait_status(xid, "Failed")
        rec = x["stepExecutions"][0]
        assert rec["StepName"] == "Containment" and rec["StepStatus"] == "Failed", rec
        assert "incident" in rec["FailureMessage"], rec
        assert ("not available" in rec["FailureMessage"]
                or "no incident" in rec["FailureMessage"]), rec

    def test_3_aws_document_quarantines_then_pauses(self):
        self.setup()
        pw = self.device("pump-9")
        self.put("aws-quarantine", AWS_QUARANTINE)
        out, _ = self.cli("executions", "start", "aws-quarantine", "--param", "ThingName=pump-9")
        xid = out.strip()
        self.wait_status(xid, "Waiting", "Analysis")
        # the thing is quarantined at the broker
        h.wait_for(lambda: denied(h.mqtt_pub(self.broker.port, probe("pump-9"), "x",
                                             user="pump-9", password=pw, client_id="pump-9",
                                             v5=True)),
                   what="pump-9 denied by the broker")
        g = self.api.ok("GET", "/api/v1/groups/QUARANTINED")
        assert "pump-9" in g["things"], g
        # a Resume for a step that is not waiting is refused
        _, err = self.cli("executions", "signal", xid, "Resume", "--step", "Recovery", expect=1)
        assert "Analysis" in err, err
        out, _ = self.cli("executions", "signal", xid, "Resume", "--step", "Analysis")
        assert "Recovery" in out, out
        self.wait_status(xid, "Waiting", "Recovery")
        self.cli("executions", "signal", xid, "Resume", "--step", "Recovery")
        x = self.wait_status(xid, "Success")
        assert [r["StepStatus"] for r in x["stepExecutions"]] == ["Success"] * 3, x
        out, _ = self.cli("executions", "get", xid)
        assert "Status:     Success" in out, out
        out, _ = self.cli("executions", "list", "--status", "Success")
        assert xid in out, out

    def test_4_scripts_outputs_and_timeout(self):
        self.setup()
        self.put("scripts", SCRIPTS)
        xid = self.start("scripts", {"Name": "pump-3"})
        x = self.wait_status(xid, "Success")
        assert x["outputs"]["Py.Greeting"] == "hello pump-3", x["outputs"]
        assert x["outputs"]["Sh.Line"].startswith("bash got "), x["outputs"]
        assert x["stepExecutions"][0]["Outputs"]["N"] == 3, x["stepExecutions"][0]
        # a timeout kills the whole process group (the backgrounded sleep too)
        self.put("timeout", TIMEOUT)
        pidfile = os.path.join(self.tmp.path, "slow.pid")
        xid = self.start("timeout", {"PidFile": pidfile})
        h.wait_for(lambda: os.path.exists(pidfile) and open(pidfile).read().strip(),
                   what="script started")
        pid = int(open(pidfile).read())
        assert alive(pid)
        x = h.wait_for(lambda: self.ex(xid)["status"] in ("TimedOut", "Failed") and self.ex(xid),
                       timeout=20, what="timed out")
        h.wait_for(lambda: not alive(pid), what="grandchild killed")
        assert "timed out" in x["stepExecutions"][0]["FailureMessage"].lower() or \
            x["stepExecutions"][0]["StepStatus"] == "TimedOut", x

    def test_5_kill9_during_sleep_and_pause(self):
        self.setup()
        self.put("sleepy", SLEEP)
        self.put("paused", PAUSE)
        f1 = os.path.join(self.tmp.path, "sleep.log")
        f2 = os.path.join(self.tmp.path, "pause.log")
        x1 = self.start("sleepy", {"File": f1})
        x2 = self.start("paused", {"File": f2})
        self.wait_status(x1, "InProgress", "Nap")
        self.wait_status(x2, "Waiting", "Hold")
        t_kill = time.time()
        self.d.restart(kill9=True)
        self.api = self.d.api
        # the sleep is honoured: not over before its 5 s
        x = self.ex(x1)
        if time.time() - t_kill < 2.5:
            assert x["status"] == "InProgress" and x["currentStep"] == "Nap", x
        self.wait_status(x1, "Success", timeout=20)
        assert open(f1).read() == "before\nafter\n", open(f1).read()
        x = self.wait_status(x2, "Waiting", "Hold")
        self.cli("executions", "signal", x2, "Resume", "--step", "Hold")
        self.wait_status(x2, "Success")
        assert open(f2).read() == "before\nafter\n", open(f2).read()

    def test_6_stack_kind(self):
        """Config as code: `runbooks:` items with `file:` (read by the CLI) or
        inline `content`; export then plan shows no change."""
        self.setup()
        os.makedirs(os.path.join(self.tmp.path, "cfg", "runbooks"))
        with open(os.path.join(self.tmp.path, "cfg", "runbooks", "dev.yaml"), "w") as f:
            f.write(open(EXAMPLE).read())
        stack = os.path.join(self.tmp.path, "cfg", "stack.yaml")
        with open(stack, "w") as f:
            f.write("thingGroups:\n  - name: plant-a\nrunbooks:\n"
                    "  - name: device-incident\n    file: runbooks/dev.yaml\n"
                    "  - name: nap\n    content: |\n"
                    + "".join("      " + l + "\n" for l in SLEEP.splitlines()))
        out, _ = self.cli("plan", "-f", stack, "--json")
        plan = json.loads(out)
        kinds = sorted((c["kind"], c["name"]) for c in plan["changes"])
        assert ("runbook", "device-incident") in kinds and ("runbook", "nap") in kinds, plan
        self.cli("apply", "-f", stack, "--yes")
        v = self.api.ok("GET", "/api/v1/runbooks/device-incident")
        assert v["content"] == open(EXAMPLE).read() and v["version"] == 1, v
        out, _ = self.cli("export")
        exported = os.path.join(self.tmp.path, "exported.yaml")
        with open(exported, "w") as f:
            f.write(out)
        out, _ = self.cli("plan", "-f", exported, "--json")
        assert json.loads(out)["changes"] == [], out
        # an invalid document inside a stack is refused with its position
        with open(stack, "a") as f:
            f.write("  - name: bad\n    content: |\n"
                    + "".join("      " + l + "\n" for l in BAD.splitlines()))
        _, err = self.cli("plan", "-f", stack, expect=1)
        assert "aws:runInstances" in err, err
        # removing a runbook from the stack hides it; its versions stay for executions
        with open(stack, "w") as f:
            f.write("thingGroups:\n  - name: plant-a\nrunbooks:\n"
                    "  - name: device-incident\n    file: runbooks/dev.yaml\n")
        self.cli("apply", "-f", stack, "--yes")
        st, _ = self.api.call("GET", "/api/v1/runbooks/nap")
        assert st == 404
        assert [r["name"] for r in self.api.ok("GET", "/api/v1/runbooks")["runbooks"]] == \
            ["device-incident"]

    def test_7_violation_incident_runbook(self):
        """The whole chain: a report outside the baseline -> violation ->
        incident (response plan) -> device-incident runbook -> Containment
        quarantines the incident's thing at the broker -> Analysis and
        Recovery resumed from the CLI -> Success."""
        from cordond_harness import report, topic
        self.setup()
        pw = self.device("pump-5")
        cfg = os.path.join(self.tmp.path, "cfg")
        os.makedirs(os.path.join(cfg, "runbooks"))
        with open(os.path.join(cfg, "runbooks", "device-incident.yaml"), "w") as f:
            f.write(open(EXAMPLE).read())
        stack = os.path.join(cfg, "stack.yaml")
        with open(stack, "w") as f:
            f.write("""securityProfiles:
  - securityProfileName: DeviceRuleBaseline
    targets: [all/things]
    responsePlan: IotResponsePlan
    behaviors:
      - name: AuthorizedTcpPorts
        metric: aws:listening-tcp-ports
        criteria: {comparisonOperator: in-port-set, value: {ports: [22, 53, 443]}}
responsePlans:
  - name: IotResponsePlan
    displayName: IoT device incident
    incidentTemplate:
      title: "Critical IoT Device Incident | {{violationId}}"
      impact: 3
    actions:
      - ssmAutomation:
          documentName: device-incident
          dynamicParameters:
            IncidentId: INCIDENT_RECORD_ARN
runbooks:
  - name: device-incident
    file: runbooks/device-incident.yaml
""")
        self.cli("apply", "-f", stack, "--yes")

        def pub(rid, tcp):
            return h.mqtt_pub(self.broker.port, topic("pump-5"), report(rid, tcp=tcp),
                              user="pump-5", password=pw, client_id="pump-5", v5=True)
        assert allowed(pub(1, (22, 443)))
        time.sleep(1.1)  # the ingest throttle
        assert allowed(pub(2, (22, 443, 4444)))
        try:
            xs = h.wait_for(lambda: self.api.ok(
                "GET", "/api/v1/executions?document=device-incident")["executions"], timeout=20,
                what="runbook started by the incident")
        except AssertionError:
            print(self.d.log()[-4000:])
            raise
        xid = xs[0]["executionId"]
        assert xs[0]["incidentId"], xs
        x = self.wait_status(xid, "Waiting", "Analysis")
        assert x["stepExecutions"][0]["Outputs"]["thingsDetected"] == ["pump-5"], x
        assert "pump-5" in x["stepExecutions"][1]["Description"], x["stepExecutions"][1]
        h.wait_for(lambda: denied(h.mqtt_pub(self.broker.port, probe("pump-5"), "x",
                                             user="pump-5", password=pw, client_id="pump-5",
                                             v5=True)),
                   what="pump-5 denied by the broker")
        self.cli("executions", "signal", xid, "Resume", "--step", "Analysis")
        self.wait_status(xid, "Waiting", "Recovery")
        self.cli("executions", "signal", xid, "Resume", "--step", "Recovery")
        self.wait_status(xid, "Success")

    def test_8_registered_function(self):
        """A function registered in cordond's configuration (name -> script
        file) is callable from aws:invokeLambdaFunction."""
        tmp = h.TempDir()
        script = os.path.join(tmp.path, "enrich.py")
        with open(script, "w") as f:
            f.write("def handler(event, context):\n"
                    "    return {'thing': event['thing'], 'owner': 'team-' + event['thing'][:4]}\n")
        self.setup(extra=f"""runbooks:
  python: /usr/bin/python3
  script_timeout_max: 30s
  functions:
    enrich:
      runtime: python3
      script: {script}
""", tmp=tmp)
        self.put("enrich", """schemaVersion: '0.3'
parameters:
  Thing: {type: String}
outputs: [Call.Owner]
mainSteps:
  - name: Call
    action: aws:invokeLambdaFunction
    inputs:
      FunctionName: enrich
      Payload: '{"thing": "{{ Thing }}"}'
    outputs:
      - {Name: Owner, Selector: $.Payload.owner, Type: String}
""")
        xid = self.start("enrich", {"Thing": "pump-1"})
        x = self.wait_status(xid, "Success")
        assert x["outputs"]["Call.Owner"] == "team-pump", x
        st, res = self.api.call("PUT", "/api/v1/runbooks/other", raw="""schemaVersion: '0.3'
mainSteps:
  - name: Call
    action: aws:invokeLambdaFunction
    inputs: {FunctionName: not-registered}
""")
        assert st == 422 and "not-registered" in res["error"]["message"], (st, res)

    def test_9_update_certificate_revokes(self):
        """iot UpdateCertificate REVOKED revokes the thing's credential at the
        broker; an unknown certificateId fails the step clearly."""
        self.setup()
        pw = self.device("pump-8")
        self.put("revoke", """schemaVersion: '0.3'
mainSteps:
  - name: Revoke
    action: aws:executeAwsApi
    inputs: {Service: iot, Api: UpdateCertificate, certificateId: pump-8, newStatus: REVOKED}
""")
        x = self.wait_status(self.start("revoke", {}), "Success")
        h.wait_for(lambda: h.mqtt_pub(self.broker.port, probe("pump-8"), "x", user="pump-8",
                                      password=pw, client_id="pump-8", v5=True).returncode != 0,
                   what="pump-8's credential refused by the broker")
        self.put("ghost", """schemaVersion: '0.3'
mainSteps:
  - name: Revoke
    action: aws:executeAwsApi
    inputs: {Service: iot, Api: UpdateCertificate, certificateId: ghost, newStatus: REVOKED}
""")
        x = self.wait_status(self.start("ghost", {}), "Failed")
        assert "must name a thing" in x["stepExecutions"][0]["FailureMessage"], x

    def test_10_approve_by_token_name_and_cancel(self):
        """aws:approve: the approver is the API token's name (someone not
        listed is refused); Cancel stops a waiting execution."""
        self.setup()
        toks = {n: self.api.ok("POST", "/api/v1/tokens", {"name": n, "role": "responder"})
                ["token"] for n in ("alice", "mallory")}
        self.put("approval", """schemaVersion: '0.3'
mainSteps:
  - name: Release
    action: aws:approve
    inputs:
      Approvers: [alice]
      Message: Release pump-1?
outputs: [Release.ApprovalStatus]
""")
        xid = self.start("approval", {})
        self.wait_status(xid, "Waiting", "Release")
        st, res = self.api.call("POST", f"/api/v1/executions/{xid}/signals",
                                {"type": "Approve"}, token=toks["mallory"])
        assert st == 422 and "mallory" in res["error"]["message"], (st, res)
        self.api.ok("POST", f"/api/v1/executions/{xid}/signals",
                    {"type": "Approve", "comment": "fixed"}, token=toks["alice"])
        x = self.wait_status(xid, "Success")
        assert x["outputs"]["Release.ApprovalStatus"] == "Approved", x
        dec = x["stepExecutions"][0]["Outputs"]["ApproverDecisions"]
        assert dec[0]["Approver"] == "alice" and dec[0]["Comment"] == "fixed", dec
        # Cancel
        xid = self.start("approval", {})
        self.wait_status(xid, "Waiting", "Release")
        self.cli("executions", "signal", xid, "Cancel")
        self.wait_status(xid, "Cancelled")
        st, res = self.api.call("POST", f"/api/v1/executions/{xid}/signals", {"type": "Resume"})
        assert st == 409, (st, res)

    def test_11_kill9_during_script(self):
        """A script running when cordond dies is retried if maxAttempts allows,
        else its step fails "interrupted by a restart"; the first attempt's
        process group is killed at the restart (no stray process)."""
        self.setup()
        doc = """schemaVersion: '0.3'
parameters:
  Mark: {type: String}
mainSteps:
  - name: Work
    action: aws:executeScript
    maxAttempts: %d
    inputs:
      Runtime: bash
      Handler: x
      InputPayload: {}
      Script: |-
        if [ -e '{{ Mark }}.1' ]; then touch '{{ Mark }}'; echo '{"done": true}'
        else touch '{{ Mark }}.1'; exec sleep 37; fi
"""
        self.put("retry", doc % 2)
        self.put("once", doc % 1)
        m1 = os.path.join(self.tmp.path, "m1")
        m2 = os.path.join(self.tmp.path, "m2")
        x1 = self.start("retry", {"Mark": m1})
        x2 = self.start("once", {"Mark": m2})
        h.wait_for(lambda: os.path.exists(m1 + ".1") and os.path.exists(m2 + ".1"),
                   what="scripts running")
        self.d.restart(kill9=True)
        self.api = self.d.api
        x = self.wait_status(x1, "Success")
        assert x["stepExecutions"][0]["Attempts"] == 2, x["stepExecutions"][0]
        assert os.path.exists(m1)  # the retry ran
        x = self.wait_status(x2, "Failed")
        assert "interrupted by a restart" in x["stepExecutions"][0]["FailureMessage"], x
        h.wait_for(lambda: subprocess.run(["pgrep", "-x", "-f", "sleep 37"],
                                          capture_output=True).returncode == 1,
                   what="first attempts killed")
    def test_12_http_request_methods(self):
        """cordon:httpRequest: GET (the default) and PUT with headers and a JSON
        body against a real HTTP server; the response status, headers and
        body reach the step's outputs; a 404 fails the step."""
        import http.server
        import threading
        seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                seen.append((self.command, self.path, self.headers.get("X-Probe"),
                             self.rfile.read(n).decode() if n else ""))
                code = 404 if self.path == "/missing" else 200
                out = b'{"ok": true}' if code == 200 else b"no"
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_PUT = _answer

            def log_message(self, *a):
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            base = f"http://127.0.0.1:{srv.server_address[1]}"
            self.setup()
            self.put("http", HTTP_DOC)
            xid = self.start("http", {"Base": base})
            x = self.wait_status(xid, "Success")
            steps = {r["StepName"]: r for r in x["stepExecutions"]}
            assert steps["Get"]["Outputs"]["Body"] == '{"ok": true}', steps["Get"]
            assert steps["Put"]["Outputs"]["Type"] == "application/json", steps["Put"]
            assert ("GET", "/status", None, "") in seen, seen
            put = [r for r in seen if r[0] == "PUT"]
            assert put and put[0][1] == "/hook" and put[0][2] == "cordon", seen
            assert json.loads(put[0][3]) == {"state": "contained"}, put
            xid = self.start("http", {"Base": base, "Path": "/missing"})
            x = h.wait_for(lambda: self.ex(xid)["status"] == "Failed" and self.ex(xid),
                           timeout=20, what="404 fails the step")
            assert "404" in json.dumps(x["stepExecutions"]), x["stepExecutions"]
        finally:
            srv.shutdown()
            srv.server_close()


if __name__ == "__main__":
    T().main()
