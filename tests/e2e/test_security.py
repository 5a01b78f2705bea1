"""Security regression tests (review of broker, plugin and cordond).

Each test starts its own broker (and cordond when needed) on free 127.0.0.1
ports in a private temp dir. A device is mosquitto_pub / mosquitto_sub.
"""
import json
import os
import signal
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


if __name__ == "__main__":
    SecurityTest().main()
