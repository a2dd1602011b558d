"""The AWS Query protocol (`POST /` with a form body `Action=…&Version=…`, XML answers) for the services
served beside SageMaker on the one port: STS and IAM, dispatched by the credential scope's service."""
