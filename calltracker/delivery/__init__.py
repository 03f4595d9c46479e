"""Service: weekly digests and deadline alerts, sent exactly once through an outbox.

1. Prepare (`prepare`, `compose`): for each member, choose the calls (digest.py), render, build the whole
   message with its Message-ID, and write it to the outbox (deliveries, unique per member, kind and period;
   the bytes in delivery_messages) *before* it is sent. A member who already has a delivery for the period
   is not prepared again.
2. Send (`send`): once the first messages are written, a sender takes the pending deliveries a batch at
   a time, preparing and writing the rest while the server reads what it was sent; per message, one
   commit records the previous message's outcome and claims this one as "sending" with a conditional
   UPDATE (it sends only if exactly one row changed), while the server reads MAIL FROM, before DATA. The
   outcome: sent; failed (5xx, or out of attempts); or pending again with `next_attempt_at` after a
   backoff (4xx, connection lost). The bytes of sent messages are then dropped, a batch at a time.

Because the stored bytes are sent, a retry or a rerun after a crash sends the identical message, with the
same Message-ID. The residual window: a sender killed while the server had a message, or after the server
accepted it but before the next commit, leaves exactly that one delivery "sending" (in doubt). After the
claim lease (CLAIM_LEASE) the next run settles it by `mail.in_doubt`: "resend" (same Message-ID: nobody
misses a digest, one member may get it twice) or "hold" (marked in_doubt for staff: no duplicate). Nothing
else is ever sent twice: a claim is exclusive and a finished delivery is never claimable again.
"""

from calltracker.delivery.compose import Composed, Composer
from calltracker.delivery.prepare import (
    DeliveryReport,
    DigestPreview,
    checked_sources,
    current_period,
    parse_period,
    preview_digest,
    unchecked_sources,
    wants_digest,
)
from calltracker.delivery.send import (
    CLAIM_LEASE,
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    deliver_pending,
    send_alerts,
    send_digests,
)

__all__ = ["CLAIM_LEASE", "MAX_ATTEMPTS", "RETRY_DELAYS", "Composed", "Composer", "DeliveryReport",
           "DigestPreview", "current_period", "deliver_pending", "parse_period", "preview_digest", "send_alerts",
           "send_digests", "checked_sources", "unchecked_sources", "wants_digest"]
