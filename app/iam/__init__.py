"""IAM's view of this service's principals: ARNs and ids of users, roles and assumed-role sessions."""
