"""HTTP surfaces: the AWS JSON protocol on `/`, REST routes under `/v1`."""
