"""Webhook signatures shared by both directions: outbound events are signed here (events/) and inbound
webhooks signed with Standard Webhooks are verified here (inbound/)."""
