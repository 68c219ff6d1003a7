"""`triage demo`: the whole bot on one machine, with a simulated cluster and a local Slack workspace page."""
