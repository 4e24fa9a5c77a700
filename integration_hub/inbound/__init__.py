"""Inbound webhooks: verify a sender's signature, store the event once, process it in the background."""
