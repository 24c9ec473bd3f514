"""Repositories: the only code that talks to DynamoDB."""
