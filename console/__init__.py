"""peerdesk's console: the domain (plain Python) and, in its own modules, the Textual app."""

__version__ = "0.1.0"
