"""Rewards and payouts: points schedule, append-only ledger, fraud checks, payout batches.

Plain Python over the cache (no Textual); `console.rewards.service.Rewards` is the one door the
console and the CLI use.
"""
