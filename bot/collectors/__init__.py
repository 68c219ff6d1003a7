"""Live sources -> evidence: Kubernetes, Prometheus and Redis, queried in parallel under deadlines."""
