"""Authentication at the edge of every surface: classify (`surfaces`), verify (`gate`), and refuse in the
surface's protocol (`refusals`). Kept free of imports: the S3 body code reaches in for `payload`."""
