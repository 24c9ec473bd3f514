"""The project's own package: API plumbing, domain managers and DynamoDB repositories."""
