"""The console's screens: one per file, each with its own .tcss. They call the Desk, never SQL."""
