#!/usr/bin/env python3
"""Drives a live alertbridge with PagerDuty's own Python client (the `pagerduty` package).

Usage: pagerduty-client-check.py BASE_URL ROUTING_KEY OPERATE_TOKEN

Any tool that pages PagerDuty should page alertbridge by changing the URL. This
triggers, re-triggers, acknowledges and resolves through the official client and
checks each step through alertbridge's own API. Exits non-zero on any mismatch.
"""
import json
import sys
import urllib.request

import pagerduty

base, routing_key, operate_token = sys.argv[1:4]


def incident(dedup_key):
    request = urllib.request.Request(f"{base}/api/v1/incidents?status=all&limit=1000",
                                     headers={"Authorization": f"Bearer {operate_token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        matches = [i for i in json.load(response)["incidents"] if i["dedup_key"] == dedup_key]
    assert len(matches) == 1, f"expected one incident for {dedup_key}, found {len(matches)}"
    return matches[0]


def client_for(key):
    client = pagerduty.EventsApiV2Client(key)
    # The client refuses plain-HTTP base URLs; this check talks to loopback only, so it
    # sets the attribute behind the `url` setter. Everything else is the client as shipped.
    client._url = base
    return client


client = client_for(routing_key)

key = client.trigger("p95 latency 1.4s at ICN1 (pagerduty client)", "grafana", severity="critical",
                     custom_details={"pop": "ICN1", "p95_ms": 1400})
assert key, "trigger returned no dedup_key"
assert incident(key)["status"] == "triggered"
assert client.trigger("p95 latency 1.4s at ICN1 (pagerduty client)", "grafana", dedup_key=key) == key
assert incident(key)["alert_count"] == 2, "a duplicate trigger must merge"
client.acknowledge(key)
assert incident(key)["status"] == "acknowledged"
client.resolve(key)
assert incident(key)["status"] == "resolved"

try:
    client_for("not-a-token").trigger("x", "y")
    raise AssertionError("an unknown routing key was accepted")
except pagerduty.Error:
    pass

print(f"pagerduty client: trigger, duplicate, acknowledge, resolve and a bad routing key behave as in PagerDuty ({key})")
