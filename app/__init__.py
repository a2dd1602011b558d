"""sagelite: a self-hosted training-job service that speaks the Amazon SageMaker API."""
