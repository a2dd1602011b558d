"""Tags: key-value pairs on any resource, addressed by its ARN, and SageMaker's tagging API over them."""
