"""Two-way sync between the cache and community platforms. Plain Python: never imports Textual.

- `sync.base`: the adapter interface (pull pages since a cursor; push one outbox action).
- `sync.http`: the one HTTP layer (httpx client per source, retries with jittered backoff via
  stamina, Retry-After, rate limits, timeouts, clear errors without credentials).
- `sync.discourse`, `sync.stackexchange`, `sync.demo`: the adapters.
- `sync.runner`: stores pulled pages, cursor in the same transaction; `sync.push`: the pusher.
- `sync.jsonl`: versioned JSONL import/export; `sync.status`: what the UI header and the Sync
  screen show.
"""
