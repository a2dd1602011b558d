"""The AWS JSON 1.1 protocol that boto3 and the AWS CLI speak: `POST /` with `X-Amz-Target`."""
