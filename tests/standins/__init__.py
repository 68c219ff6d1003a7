"""Stand-ins for the services the live collectors talk to, for tests only."""
