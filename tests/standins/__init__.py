"""Re-exports of the stand-ins the live tests talk to; they live in bot/demo/simulated/ (the demo uses them)."""
