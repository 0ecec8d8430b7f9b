"""Domain of identity-svc: accounts, clients, token policy, PKCE, assurance and lockout rules (no I/O)."""
