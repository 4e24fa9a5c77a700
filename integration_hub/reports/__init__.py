"""Curated reports: ERPNext's Query and Script Reports (Stock Balance, Accounts Receivable...) within a
Hub API key's reach, as an administrator chooses (Hub Report), run through Frappe's own report
permissions."""
