"""The floor: what any Python Lambda that talks to DynamoDB pays before doing anything — the
interpreter, `import boto3`, and one DynamoDB client. No handler can start faster than this."""

import os

import boto3

client = boto3.client(
    "dynamodb",
    region_name=os.environ.get("AWS_REGION", "us-east-1"),
    endpoint_url=os.environ.get("DYNAMODB_ENDPOINT") or None,
)
