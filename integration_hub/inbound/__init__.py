"""Inbound webhooks: verify a sender's signature, store the event once, process it in the background.

receiving.py      the request: endpoint, signature, size and rate limits, dedupe, store
verification.py   the signature schemes (Standard Webhooks through webhooks/signing.py)
jobs.py           the RQ job per event and the sweep of due retries
processing.py     one attempt at an event, as Run As: mapped records or an app's handler
handlers.py       handlers registered by other apps in their hooks
"""

ENDPOINT = "Hub Inbound Endpoint"
EVENT = "Hub Inbound Event"
