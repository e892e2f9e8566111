from dataclasses import dataclass


@dataclass(frozen=True)
class SendResult:
    provider: str
    provider_id: str
    status: str  # what the provider says now: recorded, queued, sent, ...
