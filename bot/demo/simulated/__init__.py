"""SIMULATED services, not the real ones: a Kubernetes API server and the Slack Web API.

They follow the real APIs' documented paths, shapes and refusals, so the bot talks to them with the
official clients (kubernetes, slack_sdk) exactly as it talks to the real services. The tests use
them as stand-ins; `triage demo` runs them as its simulated cluster and local workspace.
"""
