"""Resource-style JSON routes for curl and browsers, over the same services as the AWS API."""
