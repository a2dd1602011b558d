"""The audit trail: every mutating call and every refused request, append-only, with a retention."""
