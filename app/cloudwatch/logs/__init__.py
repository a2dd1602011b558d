"""CloudWatch Logs over the job logs: one group, one stream per VM run, events with per-line times."""
