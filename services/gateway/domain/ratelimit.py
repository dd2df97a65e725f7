"""A token bucket per caller: `burst` requests at once, refilled at `per_minute`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    per_minute: float
    burst: int
    max_callers: int = 100_000
    buckets: dict[str, Bucket] = field(default_factory=dict)

    def take(self, caller: str, now: float) -> float:
        """0 if the request may go ahead, else the seconds to wait before the next one."""
        rate = self.per_minute / 60.0
        bucket = self.buckets.get(caller)
        if bucket is None:
            if len(self.buckets) >= self.max_callers:
                self.buckets.clear()
            bucket = self.buckets[caller] = Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / rate
