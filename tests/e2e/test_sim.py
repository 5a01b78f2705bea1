"""cordon-sim against a real Mosquitto: valid AWS-format reports for every
thing, anomalies only on the things they name, usage errors."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

SIM = os.path.join(harness.BIN, "cordon-sim")


class SimTest(harness.Test):
    def test_fleet_reports_and_anomalies(self):
        tmp = harness.TempDir()
        broker = harness.Mosquitto(tmp, plugin=False)
        sub = harness.Subscriber(tmp, broker.port, "$aws/things/+/defender/metrics/json")
        r = harness.run([SIM, "-p", broker.port, "-n", 6, "-i", 0.4, "-d", 2.5, "--quiet",
                         "-a", "open-port:2@0.8", "-a", "new-destination:sim-0005@0.8",
                         "-a", "traffic-burst:6@0.8"])
        assert "published=" in r.stderr, r.stderr
        sub.wait(lambda ms: len(ms) >= 24, what="24 reports")
        msgs = sub.messages()
        seen = {}
        for topic, payload in msgs:
            thing = topic.split("/")[2]
            rep = json.loads(payload)
            ids = seen.setdefault(thing, [])
            ids.append(rep["header"]["report_id"])
            tcp = [p["port"] for p in rep["metrics"]["listening_tcp_ports"]["ports"]]
            conns = rep["metrics"]["tcp_connections"]["established_connections"]
            assert conns["total"] == len(conns["connections"])
            dests = {c["remote_addr"] for c in conns["connections"]}
            if thing != "sim-0002":
                assert 4444 not in tcp, (thing, tcp)
            if thing != "sim-0005":
                assert "203.0.113.66:4444" not in dests, thing
        assert sorted(seen) == [f"sim-{i:04d}" for i in range(1, 7)], sorted(seen)
        for thing, ids in seen.items():
            assert ids == sorted(ids) and len(set(ids)) == len(ids), (thing, ids)
        last = {}
        for topic, payload in msgs:
            last[topic.split("/")[2]] = json.loads(payload)
        assert 4444 in [p["port"] for p in last["sim-0002"]["metrics"]["listening_tcp_ports"]["ports"]]
        conns = last["sim-0005"]["metrics"]["tcp_connections"]["established_connections"]["connections"]
        assert "203.0.113.66:4444" in {c["remote_addr"] for c in conns}

    def test_usage_errors(self):
        for argv in (["--things", "0"], ["--anomaly", "explode:1@3"], ["-i", "0"], ["extra"]):
            r = harness.run([SIM] + argv, check=False)
            assert r.returncode == 2, (argv, r.returncode, r.stderr)
            assert "cordon-sim" in r.stderr
        r = harness.run([SIM, "--help"])
        assert "--anomaly" in r.stdout

    def test_broker_down_is_an_error(self):
        r = harness.run([SIM, "-p", harness.free_port(), "-n", 1, "-d", 1, "--quiet"], check=False)
        assert r.returncode == 1 and "cannot connect" in r.stderr, r.stderr


if __name__ == "__main__":
    SimTest().main()
