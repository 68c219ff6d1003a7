"""One-click remediation with approval: the core the Slack handlers call (placeholder docstring)."""
