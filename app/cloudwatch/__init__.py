"""CloudWatch on the same port: Logs over the job logs, metrics over the job metric series (read-only)."""
