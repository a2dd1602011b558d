"""The server's master key and envelope encryption, built on `cryptography` (no hand-written crypto)."""
