"""The wire contract: botocore's own model of SageMaker, and request validation derived from it."""
