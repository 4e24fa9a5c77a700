"""Durable outbound events: a transactional outbox and Standard Webhooks deliveries.

- `outbox.py` writes a Hub Event and its Hub Delivery in the writer's own transaction (doc_events).
- `subscriptions.py` finds the active subscriptions of a DocType from the compiled map that every
  change of a subscription rebuilds, read under a share lock so that no write misses a change.
- `payload.py` builds the frozen payload as the subscription's `run_as` user may see it.
- `signing.py` signs with Standard Webhooks; deliveries go out through the app's one outbound HTTP
  session (`integration_hub/http_client.py`: timeouts, private-address guard); `retry.py` is the retry policy.
- `delivery.py` claims due deliveries with `FOR UPDATE SKIP LOCKED`, sends, records and schedules retries,
  keeping per-document order; `health.py` tracks and disables failing subscriptions.
- `operations.py` redelivers, recovers, rotates secrets and sends test events.
- `jobs.py` is the edge: background jobs and the scheduled sweep, which own their transactions.
"""
