"""Helpers for cordond's end-to-end tests: a broker with the plugin, a
cordond configured against it, an API client."""
import json
import os
import signal
import time
import urllib.error
import urllib.request

import harness as h

CORDOND = os.path.join(h.BIN, "cordond")


class Api:
    def __init__(self, port, token=None):
        self.base = f"http://127.0.0.1:{port}"
        self.token = token

    def call(self, method, path, body=None, token="default", raw=None, headers=None):
        """Return (status, parsed JSON or text)."""
        tok = self.token if token == "default" else token
        data = None
        hdrs = dict(headers or {})
        if raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode()
        elif body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if tok:
            hdrs["Authorization"] = f"Bearer {tok}"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    def ok(self, method, path, body=None, expect=(200, 201, 204), **kw):
        st, res = self.call(method, path, body, **kw)
        if st not in expect:
            raise AssertionError(f"{method} {path} -> {st} {res}")
        return res


class Cordond(h.Proc):
    """cordond with a config file in tmp, against broker `broker`."""

    def __init__(self, tmp, broker_port, extra="", api_port=None, name="cordond"):
        self.tmp = str(tmp)
        self.api_port = api_port or h.free_port()
        self.broker_port = broker_port
        self.var = os.path.join(self.tmp, "var")
        self.conf = os.path.join(self.tmp, "cordond.yaml")
        with open(self.conf, "w") as f:
            f.write(f"""data_dir: {self.var}
broker:
  host: 127.0.0.1
  port: {broker_port}
  username: {h.SERVER_IDENTITY}
  password: {h.SERVER_PASSWORD}
api:
  listen: 127.0.0.1:{self.api_port}
store:
  path: {self.var}/cordon.db
log:
  level: info
{extra}""")
        self.name = name
        self._start()

    def _start(self):
        super().__init__(self.name, [CORDOND, "--config", self.conf], self.tmp)
        h.wait_port(self.api_port, proc=self)
        tok = os.path.join(self.var, "admin.token")
        h.wait_for(lambda: os.path.exists(tok), what="admin token")
        with open(tok) as f:
            self.api = Api(self.api_port, f.read().strip())
        h.wait_for(lambda: self.api.call("GET", "/healthz")[1].get("mqtt") == "connected",
                   what="cordond connected to the broker")

    def restart(self, kill9=False):
        if kill9:
            self.kill9()
        else:
            self.stop()
        self._logf = open(self.logpath, "ab")
        self._start()

    def metric(self, name):
        st, text = self.api.call("GET", "/metrics", token=None)
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and not line.startswith("#"):
                total += float(line.rsplit(" ", 1)[1])
        return total


def report(rid, tcp=(22, 443), udp=(), bytes_out=100):
    return json.dumps({
        "header": {"report_id": rid, "version": "1.0"},
        "metrics": {
            "listening_tcp_ports": {"ports": [{"port": p} for p in tcp]},
            "listening_udp_ports": {"ports": [{"port": p} for p in udp]},
            "network_stats": {"bytes_in": 10, "bytes_out": bytes_out, "packets_in": 1,
                              "packets_out": 1},
        },
    })


def topic(thing):
    return f"$aws/things/{thing}/defender/metrics/json"


STACK = """thingGroups:
  - name: plant-a
    description: Plant A pumps
    attributes:
      site: lyon
      tier: "1"
securityProfiles:
  - securityProfileName: DeviceRuleBaseline
    securityProfileDescription: Rule-based security baseline
    targets: [all/things]
    behaviors:
      - name: AuthorizedTcpPorts
        metric: aws:listening-tcp-ports
        criteria:
          comparisonOperator: in-port-set
          value: {ports: [22, 53, 443]}
    alertTargets:
      - type: mqtt
        topic: alerts/defender
    mitigationActions:
      - type: ADD_THINGS_TO_THING_GROUP
        thingGroupNames: [QUARANTINED]
"""
