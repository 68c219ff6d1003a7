"""Remediation targets behind one interface (`base.TargetKind`: preview, apply, watch, restore),
one module per kind: workload resources, Redis configuration, Alertmanager silence."""
