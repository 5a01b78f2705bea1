"""A 1,000-thing simulated fleet against the real stack: exactly the things
given an anomaly (an open TCP port on a handful) get violations (and
incidents, once cordond serves them) — no other thing does.

cordon-sim publishes as the server identity, 50 things per connection (a
device identity per thing would mean 1,000 Argon2id hashes and connections;
the per-thing identity path is covered by test_scenario.py).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
from cordond_harness import Cordond  # noqa: E402

SIM = os.path.join(h.BIN, "cordon-sim")
STACK = os.path.join(h.SRC, "examples", "stack.yaml")
N = 1000
INTERVAL = 5
ANOMALOUS = [17, 230, 512, 777, 1000]  # 1-based indices → sim-0017, …


def name(i):
    return f"sim-{i:04d}"


def inline_files(path):
    """The stack text as the cordon CLI sends it: each runbook's `file: P`
    (relative to the stack) replaced by `content: |` and the file's lines."""
    out = []
    base = os.path.dirname(path)
    with open(path) as f:
        for line in f:
            stripped = line.lstrip()
            if stripped.startswith("file: "):
                indent = line[:len(line) - len(stripped)]
                out.append(f"{indent}content: |\n")
                with open(os.path.join(base, stripped[len("file: "):].strip())) as rb:
                    out.extend(f"{indent}  {l}" if l.strip() else "\n" for l in rb)
            else:
                out.append(line)
    return "".join(out)


class FleetTest(h.Test):
    def test_fleet_only_anomalous_things_alarm(self):
        tmp = h.TempDir()
        broker = h.CordonBroker(tmp)
        cd = Cordond(tmp, broker.port, extra="ingest:\n  throttle_floor: 1s\n")
        cd.api.ok("POST", "/api/v1/config/apply", raw=inline_files(STACK),
                  headers={"Content-Type": "application/yaml"})
        # incidents are checked when cordond serves them and the stack binds a response plan
        st, plans = cd.api.call("GET", "/api/v1/response-plans")
        incidents_api = (cd.api.call("GET", "/api/v1/incidents")[0] == 200 and st == 200
                         and bool(plans.get("responsePlans")))
        rb = os.path.join(h.SRC, "examples", "runbooks", "device-incident.yaml")
        if (cd.api.call("GET", "/api/v1/runbooks")[0] == 200
                and cd.api.call("GET", "/api/v1/runbooks/DeviceIncident")[0] == 404):
            with open(rb) as f:
                cd.api.ok("PUT", "/api/v1/runbooks/DeviceIncident", raw=f.read(),
                          headers={"Content-Type": "application/yaml"})
        # two clean rounds first, then the port opens on the anomalous things
        sim = h.Proc("sim", [SIM, "-p", broker.port, "-u", h.SERVER_IDENTITY, "-P",
                             h.SERVER_PASSWORD, "--per-connection", 50, "-n", N, "-i", INTERVAL,
                             "-d", 28, "--quiet", "-a",
                             "open-port:" + ",".join(map(str, ANOMALOUS)) + f"@{2 * INTERVAL}"],
                     tmp)
        want = sorted(name(i) for i in ANOMALOUS)

        def alarmed():
            res = cd.api.ok("GET", "/api/v1/violations?active=true&limit=1000")
            return sorted({v["thingName"] for v in res["violations"]})

        got = h.wait_for(lambda: alarmed() == want and want, timeout=40, interval=0.5,
                         what=f"active violations on exactly {want} (have {alarmed()})")
        # every thing reported (auto-created on its first report) …
        things = h.wait_for(lambda: len(cd.api.ok("GET", "/api/v1/things")["things"]) == N
                            and cd.api.ok("GET", "/api/v1/things")["things"], timeout=20,
                            what=f"{N} things")
        assert len(things) == N
        # … and a further full round of reports changes nothing
        accepted = cd.metric("cordon_reports_accepted_total")
        h.wait_for(lambda: cd.metric("cordon_reports_accepted_total") >= accepted + N,
                   timeout=20, interval=0.5, what="one more round of reports")
        res = cd.api.ok("GET", "/api/v1/violations?limit=1000")
        by_thing = {}
        for v in res["violations"]:
            by_thing.setdefault(v["thingName"], []).append(v)
        assert sorted(by_thing) == want, sorted(by_thing)
        for thing, vs in by_thing.items():
            assert len(vs) == 1, (thing, vs)
            v = vs[0]
            assert v["securityProfileName"] == "DeviceRuleBaseline", v
            assert v["behavior"]["name"] == "AuthorizedTcpPorts", v
            assert v["state"] == "active", v
            ports = [p["port"] if isinstance(p, dict) else p for p in v["metricValue"]["ports"]]
            assert 4444 in ports, v
        if incidents_api:
            def incident_things():
                res = cd.api.ok("GET", "/api/v1/incidents")
                incs = res.get("incidents", [])
                vids = {v[0]["violationId"]: t for t, v in by_thing.items()}
                return sorted(vids[vid] for i in incs for vid in vids
                              if vid in (i.get("title") or ""))
            h.wait_for(lambda: incident_things() == want, timeout=20, interval=0.5,
                       what=f"incidents for exactly {want}")
            assert len(cd.api.ok("GET", "/api/v1/incidents")["incidents"]) == len(want)
        print(f"fleet: {N} things, {len(got)} alarmed: {', '.join(got)}; incidents API: "
              f"{'checked' if incidents_api else 'not served or no response plan in the stack'}", flush=True)
        sim.stop()
        cd.stop()
        broker.stop()


if __name__ == "__main__":
    FleetTest().main()
