"""Runbooks calling the SSM Incidents API (aws:executeAwsApi, service
ssm-incidents): a document written for AWS updates an incident record, adds
a custom timeline event and a related item, then removes an item; bad
parameters fail the step with a message naming the field. Real Mosquitto
with the plugin, real cordond, real SQLite; the result is checked through
GET /api/v1/incidents/{id}, also after a restart (persisted)."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
from cordond_harness import Cordond  # noqa: E402

STACK = """responsePlans:
  - name: SsmPlan
    incidentTemplate:
      title: Drill
      impact: 5
"""

SSM_DOC = """schemaVersion: '0.3'
description: Triage an incident (written for AWS Systems Manager; runs unchanged).
parameters:
  IncidentArn:
    type: String
mainSteps:
  - name: Retitle
    action: aws:executeAwsApi
    inputs:
      Service: ssm-incidents
      Api: UpdateIncidentRecord
      arn: '{{ IncidentArn }}'
      title: Pump-9 beaconing
      impact: 2
      summary: Triage by runbook
  - name: Note
    action: aws:executeAwsApi
    inputs:
      Service: ssm-incidents
      Api: CreateTimelineEvent
      incidentRecordArn: '{{ IncidentArn }}'
      eventTime: '2026-01-02T03:04:05Z'
      eventType: Custom Event
      eventData: '"pcap captured"'
    outputs:
      - { Name: EventId, Selector: $.eventId, Type: String }
  - name: Link
    action: aws:executeAwsApi
    inputs:
      Service: ssm-incidents
      Api: UpdateRelatedItems
      incidentRecordArn: '{{ IncidentArn }}'
      relatedItemsUpdate:
        itemToAdd:
          title: Packet capture
          identifier:
            type: ATTACHMENT
            value:
              url: https://files.example.org/pump-9.pcap
  - name: LinkTmp
    action: aws:executeAwsApi
    inputs:
      Service: ssm-incidents
      Api: UpdateRelatedItems
      incidentRecordArn: '{{ IncidentArn }}'
      relatedItemsUpdate:
        itemToAdd:
          title: Scratch
          identifier:
            type: OTHER
            value:
              url: https://scratch.example.org/x
  - name: Unlink
    action: aws:executeAwsApi
    inputs:
      Service: ssm-incidents
      Api: UpdateRelatedItems
      incidentRecordArn: '{{ IncidentArn }}'
      relatedItemsUpdate:
        itemToRemove:
          type: OTHER
          value:
            url: https://scratch.example.org/x
"""

BAD_DOC = """schemaVersion: '0.3'
parameters:
  IncidentArn:
    type: String
mainSteps:
  - name: Bad
    action: aws:executeAwsApi
    inputs:
      Service: ssm-incidents
      Api: UpdateIncidentRecord
      arn: '{{ IncidentArn }}'
      impact: 9
"""

RESOLVE_DOC = """schemaVersion: '0.3'
parameters:
  IncidentArn:
    type: String
mainSteps:
  - name: Resolve
    action: aws:executeAwsApi
    inputs:
      Service: ssm-incidents
      Api: UpdateIncidentRecord
      arn: '{{ IncidentArn }}'
      status: RESOLVED
"""


class T(h.Test):
    def setup(self):
        self.tmp = h.TempDir()
        self.broker = h.CordonBroker(self.tmp)
        self.d = Cordond(self.tmp, self.broker.port)
        self.api = self.d.api
        st, res = self.api.call("POST", "/api/v1/config/apply", raw=STACK,
                                headers={"Content-Type": "application/yaml"})
        assert st == 200, (st, res)

    def put(self, name, text):
        st, res = self.api.call("PUT", f"/api/v1/runbooks/{name}", raw=text,
                                headers={"Content-Type": "application/yaml"})
        assert st in (200, 201), (st, res)

    def run_doc(self, doc, arn):
        xid = self.api.ok("POST", "/api/v1/executions",
                          {"document": doc, "parameters": {"IncidentArn": arn}})["executionId"]

        def done():
            x = self.api.ok("GET", f"/api/v1/executions/{xid}")
            return x if x["status"] in ("Success", "Failed", "Cancelled", "TimedOut") else None
        return h.wait_for(done, timeout=20, what=f"execution of {doc} ends")

    def test_1_update_timeline_related_items(self):
        self.setup()
        inc = self.api.ok("POST", "/api/v1/incidents", {"responsePlan": "SsmPlan"})
        self.put("ssm-triage", SSM_DOC)
        x = self.run_doc("ssm-triage", inc["arn"])
        assert x["status"] == "Success", x
        event_id = x["stepExecutions"][1]["Outputs"]["EventId"]
        for restarted in (False, True):
            if restarted:
                self.d.restart()
                self.api = self.d.api
            got = self.api.ok("GET", f"/api/v1/incidents/{inc['id']}")
            assert got["title"] == "Pump-9 beaconing" and got["impact"] == 2, got
            assert got["summary"] == "Triage by runbook", got
            types = [e["eventType"] for e in got["timeline"]]
            assert "SSM Incident Record Update" in types, types
            custom = [e for e in got["timeline"] if e["eventId"] == event_id]
            assert len(custom) == 1, got["timeline"]
            assert custom[0]["eventType"] == "Custom Event", custom
            assert custom[0]["eventData"] == '"pcap captured"', custom
            assert custom[0]["eventTime"].startswith("2026-01-02T03:04:05"), custom
            items = {(i["identifier"]["type"], i["identifier"]["value"].get("url")): i
                     for i in got["relatedItems"]}
            key = ("ATTACHMENT", "https://files.example.org/pump-9.pcap")
            assert key in items and items[key]["title"] == "Packet capture", items
            assert ("OTHER", "https://scratch.example.org/x") not in items, items

    def test_2_bad_params_and_resolve(self):
        self.setup()
        inc = self.api.ok("POST", "/api/v1/incidents", {"responsePlan": "SsmPlan"})
        self.put("ssm-bad", BAD_DOC)
        x = self.run_doc("ssm-bad", inc["arn"])
        assert x["status"] == "Failed", x
        msg = x["stepExecutions"][0]["FailureMessage"]
        assert "impact" in msg and "1 to 5" in msg, msg
        x = self.run_doc("ssm-bad", "cordon:incident/SsmPlan/nope")
        msg = x["stepExecutions"][0]["FailureMessage"]
        assert x["status"] == "Failed" and "no incident" in msg and "arn" in msg, x
        self.put("ssm-resolve", RESOLVE_DOC)
        x = self.run_doc("ssm-resolve", inc["id"])  # the uuid tail names it too
        assert x["status"] == "Success", x
        got = self.api.ok("GET", f"/api/v1/incidents/{inc['id']}")
        assert got["status"] == "RESOLVED" and got.get("resolvedTime"), got


if __name__ == "__main__":
    T().main()
