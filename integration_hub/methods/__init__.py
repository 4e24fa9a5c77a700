"""Curated whitelisted methods: ERPNext's business logic (make_delivery_note, get_item_details,
get_stock_balance...) within a Hub API key's reach, as an administrator chooses (Hub Method)."""
