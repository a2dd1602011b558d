"""Training jobs: status machine, records, and the service the API and scheduler call."""
