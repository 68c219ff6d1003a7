"""What every layer of the running bot shares: its metrics, the foreground gate, its threads."""
