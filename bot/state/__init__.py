"""The bot's state in Redis: every key it uses (`keys.py`) and its one lock (`locks.py`)."""
