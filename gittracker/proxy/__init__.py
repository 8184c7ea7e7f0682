"""The sub-agent proxy: a mitmproxy addon that meters each request, and the ledger's view of what it wrote."""
