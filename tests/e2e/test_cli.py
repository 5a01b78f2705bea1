"""cordon CLI end to end: the real `cordon` binary against a real cordond
(real Mosquitto with the plugin, real SQLite). Usage and exit codes, things,
credentials, groups, quarantine, profiles, violations, plan/apply/export round
trip, --json output, auth failures, the config file."""
import json
import os
import shutil
import pty
import re
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

# CORDON_CLI_BIN: run another cordon binary (e.g. the ASan build) against this build's cordond
CORDON = os.environ.get("CORDON_CLI_BIN") or os.path.join(h.BIN, "cordon")
EXAMPLE = os.path.join(h.SRC, "examples", "stack.yaml")


class T(h.Test):
    def environ(self, extra=None):
        """The CLI's environment: none of the caller's CORDON_* settings or config file."""
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("CORDON_") or k in ("CORDON_BUILD", "CORDON_SRC")}
        e["HOME"] = self.home
        e.pop("XDG_CONFIG_HOME", None)
        e.update(self.env)
        e.update(extra or {})
        return e

    def cli(self, *args, env=None, expect=0, stdin=None, cwd=None):
        """Run cordon; check its exit code; return (stdout, stderr)."""
        e = self.environ(env)
        r = subprocess.run([CORDON, *args], capture_output=True, text=True, env=e,
                           input=stdin if stdin is not None else "", timeout=30,
                           cwd=cwd or self.home)
        if expect is not None and r.returncode != expect:
            raise AssertionError(f"cordon {' '.join(args)} -> {r.returncode}, expected {expect}\n"
                                 f"stdout: {r.stdout}\nstderr: {r.stderr}")
        return r.stdout, r.stderr

    def cli_tty(self, *args, answer):
        """Run cordon with a pseudo-terminal as stdin and type `answer`."""
        master, slave = pty.openpty()
        e = self.environ()
        try:
            p = subprocess.Popen([CORDON, *args], stdin=slave, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=e, cwd=self.home)
            os.write(master, answer.encode() + b"\n")
            out, err = p.communicate(timeout=30)
        finally:
            os.close(slave)
            os.close(master)
        return p.returncode, out, err

    def no_server(self):
        self.tmp = h.TempDir()
        self.home = self.tmp.path
        self.env = {"CORDON_URL": f"http://127.0.0.1:{h.free_port()}"}

    def server(self, extra=""):
        from cordond_harness import Cordond
        self.tmp = h.TempDir()
        self.home = os.path.join(self.tmp.path, "home")
        os.makedirs(self.home)
        self.broker = h.CordonBroker(self.tmp)
        self.d = Cordond(self.tmp, self.broker.port, extra=extra)
        self.token_file = os.path.join(self.d.var, "admin.token")
        self.env = {"CORDON_URL": f"http://127.0.0.1:{self.d.api_port}",
                    "CORDON_TOKEN_FILE": self.token_file}

    # ---- without a server ----------------------------------------------

    def test_1_usage_and_exit_codes(self):
        self.no_server()
        out, err = self.cli(expect=2)
        assert "Usage: cordon" in err and "Exit status" in err, err
        out, err = self.cli("--help")
        assert "Usage: cordon" in out and "things create" in out and "4  auth" in out, out
        out, err = self.cli("bogus", expect=2)
        assert "cordon: unknown command 'bogus'" in err and "Usage: cordon" in err, err
        out, err = self.cli("things", "frobnicate", expect=2)
        assert "unknown command 'things frobnicate'" in err and "things list" in err, err
        out, err = self.cli("things", "--help")
        assert "things credentials" in out, out
        # every command has its own --help, which exits 0 and starts with its usage line
        names = re.findall(r"^  ([a-z]+(?: [a-z-]+)?)\s{2,}", self.cli("--help")[0], re.M)
        assert len(names) >= 20, names
        for name in names:
            out, _ = self.cli(*name.split(), "--help")
            assert out.startswith(f"Usage: cordon {name}"), (name, out[:80])
            out2, _ = self.cli("help", *name.split())
            assert out2 == out
        self.cli("things", "list", "--bogus", expect=2)
        self.cli("things", "get", expect=2)
        out, err = self.cli("plan", expect=2)
        assert "missing -f FILE" in err and "Usage: cordon plan" in err, err
        self.cli("violations", "verify", "x", "maybe", expect=2)
        self.cli("violations", "list", "--since", "yesterday", expect=2)
        # nothing listens there: exit 3
        out, err = self.cli("things", "list", expect=3)
        assert err.startswith("cordon: cannot connect to http://127.0.0.1:"), err
        self.cli("health", expect=3)
        # a bad stack is caught locally, with file:line:column, before connecting
        bad = self.tmp.file("bad.yaml", "thingGroups:\n  - name: a\n    colour: red\n")
        out, err = self.cli("plan", "-f", bad, expect=1)
        assert f"cordon: {bad}:3:5: thingGroups: unknown field 'colour'" in err, err
        out, err = self.cli("--version")
        assert out.startswith("cordon "), out

    # ---- against cordond -------------------------------------------------

    def test_2_against_cordond(self):
        self.server()
        out, _ = self.cli("health")
        assert "ok" in out and "MQTT connected" in out, out

        # things: create with a password, list, get, JSON
        out, _ = self.cli("things", "create", "pump-0042", "--attr", "site=lyon",
                          "--attr", "model=p2")
        assert "Created thing pump-0042." in out and "shown once" in out, out
        password = out.strip().splitlines()[-1]
        assert len(password) >= 24 and " " not in password, out
        out, _ = self.cli("things", "create", "cam-1", "--cert", "--out", self.tmp.path)
        for f in ("cam-1.crt", "cam-1.key"):
            p = os.path.join(self.tmp.path, f)
            assert stat.S_IMODE(os.stat(p).st_mode) == 0o600, (f, oct(os.stat(p).st_mode))
        with open(os.path.join(self.tmp.path, "cam-1.key")) as f:
            assert "PRIVATE KEY" in f.read()
        with open(os.path.join(self.tmp.path, "cam-1.crt")) as f:
            assert "BEGIN CERTIFICATE" in f.read()
        # never overwrites a key
        out, err = self.cli("things", "credentials", "cam-1", "--cert", "--out", self.tmp.path,
                            expect=1)
        assert "exists already" in err, err

        out, _ = self.cli("things", "list")
        lines = out.splitlines()
        assert lines[0].split() == ["NAME", "CREDENTIALS", "QUARANTINED", "GROUPS", "LAST",
                                    "REPORT"], lines
        col = lines[0].index("CREDENTIALS")
        assert lines[1].startswith("cam-1") and lines[1][col:].startswith("certificate"), lines
        assert lines[2].startswith("pump-0042") and lines[2][col:].startswith("password"), lines
        out, _ = self.cli("things", "list", "--json")
        things = json.loads(out)["things"]
        assert [t["thingName"] for t in things] == ["cam-1", "pump-0042"], things
        out, _ = self.cli("--json", "things", "get", "pump-0042")
        assert json.loads(out)["attributes"] == {"site": "lyon", "model": "p2"}, out
        out, _ = self.cli("things", "get", "pump-0042")
        assert "Name:         pump-0042" in out and "site" in out and "lyon" in out, out
        out, _ = self.cli("things", "credentials", "pump-0042", "--json")
        assert len(json.loads(out)["password"]) >= 24 and json.loads(out)["password"] != password
        out, err = self.cli("things", "get", "nope", expect=1)
        assert err.startswith("cordon: not_found: "), err
        out, err = self.cli("things", "create", "pump-0042", "--no-credentials", expect=1)
        assert err.startswith("cordon: conflict: "), err

        # groups
        self.cli("groups", "create", "plant-a", "--description", "Plant A pumps")
        out, _ = self.cli("groups", "add-thing", "plant-a", "pump-0042")
        assert "Added pump-0042 to plant-a." in out, out
        out, _ = self.cli("groups", "get", "plant-a")
        assert "Description:  Plant A pumps" in out and "  pump-0042" in out, out
        out, _ = self.cli("groups", "list")
        assert re.search(r"^plant-a\s+1\s+Plant A pumps$", out, re.M), out
        assert re.search(r"^QUARANTINED\s+0\s", out, re.M), out
        groups = json.loads(self.cli("groups", "list", "--json")[0])["groups"]
        assert {g["groupName"] for g in groups} >= {"plant-a", "QUARANTINED"}, groups
        self.cli("groups", "remove-thing", "plant-a", "pump-0042")
        out, err = self.cli("groups", "delete", "QUARANTINED", expect=1)
        assert err.startswith("cordon: conflict: "), err

        # quarantine
        out, _ = self.cli("quarantine", "add", "pump-0042")
        assert out.startswith("pump-0042 quarantined"), out
        out, _ = self.cli("things", "get", "pump-0042")
        assert "Quarantined:  yes" in out, out
        out, _ = self.cli("quarantine", "remove", "pump-0042")
        assert out.startswith("pump-0042 released"), out

        # violations: none yet; the filters make a valid query
        out, err = self.cli("violations", "list", "--active", "--thing", "pump-0042",
                            "--since", "1h", "--verification", "true-positive")
        assert out == "" and "No violations." in err, (out, err)
        assert json.loads(self.cli("violations", "list", "--json")[0])["violations"] == []
        self.cli("violations", "get", "no-such-id", expect=1)

        # config as code: plan, apply, plan again, export, plan the export
        out, _ = self.cli("plan", "-f", EXAMPLE)
        assert "  + securityProfile DeviceRuleBaseline" in out, out
        assert "  + securityProfile DeviceMLBaseline" in out, out
        assert "  - thingGroup plant-a" in out, out  # not in the example stack
        # 2 profiles + the example's contacts, escalation plan and response plan
        assert re.search(r"Plan: 7 to create, \d+ to update, 1 to delete\.", out), out
        plan = json.loads(self.cli("plan", "-f", EXAMPLE, "--json")[0])
        assert {(c["action"], c["name"]) for c in plan["changes"]} >= {
            ("create", "DeviceRuleBaseline"), ("delete", "plant-a")}, plan
        out, err = self.cli("apply", "-f", EXAMPLE, expect=2)
        assert "--yes" in err, err
        out, _ = self.cli("apply", "-f", EXAMPLE, "--yes")
        assert "+ securityProfile DeviceRuleBaseline" in out and "Applied: 7 created" in out, out
        out, _ = self.cli("plan", "-f", EXAMPLE)
        assert out.startswith("No changes"), out
        exported = os.path.join(self.tmp.path, "exported.yaml")
        out, err = self.cli("export", "-o", exported)
        with open(exported) as f:
            text = f.read()
        assert "DeviceRuleBaseline" in text and "QUARANTINED" in text, text
        out, _ = self.cli("plan", "-f", exported)
        assert out.startswith("No changes"), (out, text)
        out, _ = self.cli("export")
        assert out == text
        # a change shows as ~ with its reason
        with open(EXAMPLE) as f:
            changed = f.read().replace("ports: [22, 53, 443]", "ports: [22, 53, 443, 8080]")
        # the edited copy keeps the example's runbook file beside it (file: is relative)
        shutil.copytree(os.path.join(h.SRC, "examples", "runbooks"),
                        os.path.join(self.tmp.path, "runbooks"), dirs_exist_ok=True)
        changed_path = self.tmp.file("changed.yaml", changed)
        out, _ = self.cli("plan", "-f", changed_path)
        assert ("  ~ securityProfile DeviceRuleBaseline  (behavior AuthorizedTcpPorts changed)"
                in out), out
        assert "Plan: 0 to create, 1 to update, 0 to delete." in out, out
        # apply asks on a terminal: anything but "yes" changes nothing
        rc, out, err = self.cli_tty("apply", "-f", changed_path, answer="y")
        assert rc == 1 and "Only 'yes' is accepted" in err and "Apply cancelled" in err, (rc, err)
        assert "~ securityProfile DeviceRuleBaseline" in self.cli("plan", "-f", changed_path)[0]
        rc, out, err = self.cli_tty("apply", "-f", changed_path, answer="yes")
        assert rc == 0 and "Applied: 0 created, 1 updated, 0 deleted." in out, (rc, out, err)
        assert self.cli("plan", "-f", changed_path)[0].startswith("No changes")
        out, _ = self.cli("apply", "-f", "-", "--yes", "--json", stdin=text)
        assert json.loads(out)["applied"] is True, out
        out, _ = self.cli("apply", "-f", "-", "--yes", "--json", stdin=changed,
                          cwd=self.tmp.path)
        assert json.loads(out)["applied"] is True, out

        # profiles
        out, _ = self.cli("profiles", "list")
        assert re.search(r"^DeviceMLBaseline\s+all/things\s+1\s+ML security", out, re.M), out
        assert re.search(r"^DeviceRuleBaseline\s+all/things\s+2\s", out, re.M), out
        out, _ = self.cli("profiles", "get", "DeviceRuleBaseline")
        assert "AuthorizedTcpPorts" in out and "aws:listening-tcp-ports" in out, out
        assert "8080" in out, out
        prof = json.loads(self.cli("profiles", "get", "DeviceRuleBaseline", "--json")[0])
        assert prof["securityProfileName"] == "DeviceRuleBaseline", prof

        # auth: a bad token is exit 4, a viewer may read but not write (exit 4)
        out, err = self.cli("things", "list", env={"CORDON_TOKEN": "cdt_" + "0" * 64}, expect=4)
        assert err.startswith("cordon: unauthorized: "), err
        out, err = self.cli("things", "list", env={"CORDON_TOKEN_FILE": "",
                                                  "CORDON_TOKEN": ""}, expect=4)
        viewer = self.d.api.ok("POST", "/api/v1/tokens", {"name": "v", "role": "viewer"})["token"]
        self.cli("things", "list", "--token", viewer)
        out, err = self.cli("groups", "create", "x", "--token", viewer, expect=4)
        assert err.startswith("cordon: forbidden: "), err

        # the config file, and the default ./var/admin.token
        conf_dir = os.path.join(self.home, ".config", "cordon")
        os.makedirs(conf_dir)
        with open(os.path.join(conf_dir, "cli.conf"), "w") as f:
            f.write(f"# test\nurl = http://127.0.0.1:{self.d.api_port}\n"
                    f"token_file = {self.token_file}\n")
        out, _ = self.cli("things", "list", env={"CORDON_URL": "", "CORDON_TOKEN_FILE": ""})
        assert "pump-0042" in out, out
        with open(os.path.join(conf_dir, "cli.conf"), "w") as f:
            f.write(f"url = http://127.0.0.1:{self.d.api_port}\n")
        out, _ = self.cli("things", "list", env={"CORDON_URL": "", "CORDON_TOKEN_FILE": ""},
                          cwd=self.d.tmp)  # finds ./var/admin.token
        assert "pump-0042" in out, out
        with open(os.path.join(conf_dir, "cli.conf"), "w") as f:
            f.write("colour = blue\n")
        out, err = self.cli("things", "list", expect=2)
        assert "cli.conf:1: unknown key 'colour'" in err, err
        os.unlink(os.path.join(conf_dir, "cli.conf"))

        # delete
        out, _ = self.cli("things", "delete", "cam-1")
        assert "Deleted thing cam-1." in out
        assert "cdt_" not in self.d.log(), "token in the server log"

    def test_3_violations(self):
        from cordond_harness import report, topic
        self.server(extra="ingest:\n  throttle_floor: 0s\n")
        self.cli("apply", "-f", EXAMPLE, "--yes")
        out, _ = self.cli("things", "create", "pump-7")
        pw = out.strip().splitlines()[-1]

        def pub(rid, tcp):
            return h.mqtt_pub(self.broker.port, topic("pump-7"), report(rid, tcp=tcp),
                              user="pump-7", password=pw, client_id="pump-7", v5=True)
        # the plugin learns the credential through cordond's outbox
        h.wait_for(lambda: pub(1, (22, 443)).returncode == 0 and json.loads(self.cli(
            "things", "get", "pump-7", "--json")[0])["lastReportAt"], timeout=20,
            what="first report accepted")
        out, _ = self.cli("things", "list")
        assert re.search(r"^pump-7\s+password\s+no\s+-\s+\d{4}-\d\d-\d\dT", out, re.M), out
        assert pub(2, (22, 443, 4444)).returncode == 0  # 4444 is outside the allow-list
        vs = h.wait_for(lambda: json.loads(self.cli("violations", "list", "--active", "--json")[0])
                        ["violations"], what="violation")
        vid = vs[0]["violationId"]
        out, _ = self.cli("violations", "list", "--active", "--thing", "pump-7")
        assert out.splitlines()[0].split() == ["ID", "THING", "PROFILE", "BEHAVIOR", "STATE",
                                               "STARTED", "VERIFICATION"], out
        assert re.search(rf"^{re.escape(vid)}\s+pump-7\s+DeviceRuleBaseline\s+"
                         r"AuthorizedTcpPorts\s+active\s+\S+Z\s+UNKNOWN$", out, re.M), out
        out, _ = self.cli("violations", "get", vid)
        assert f"Violation:     {vid}" in out and "4444" in out and "in-alarm" in out, out
        out, _ = self.cli("violations", "verify", vid, "true-positive", "--description",
                          "port 4444 is a backdoor")
        assert f"Violation {vid} verified as TRUE_POSITIVE." in out, out
        got = json.loads(self.cli("violations", "get", vid, "--json")[0])
        assert got["verificationState"] == "TRUE_POSITIVE", got
        assert got["verificationStateDescription"] == "port 4444 is a backdoor", got
        listed = json.loads(self.cli("violations", "list", "--verification", "TRUE_POSITIVE",
                                     "--since", "1h", "--json")[0])["violations"]
        assert [v["violationId"] for v in listed] == [vid], listed
        past = json.loads(self.cli("violations", "list", "--past", "--json")[0])["violations"]
        assert past == [], past


if __name__ == "__main__":
    T().main()
