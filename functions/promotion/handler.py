"""The Registrations stream, after the filter in serverless.yml lets through two kinds of record:

- a confirmed registration was removed → promote from the waitlist while seats are free;
- a registration went from waitlisted to confirmed (a promotion committed) → publish
  RegistrationPromoted on EventBridge. Publishing from the stream, not from the promoting code,
  means no promotion goes unannounced even if a run crashes right after its transaction.

Promotion is conditional on the seat and on the head entry, so replaying records, or running two
batches at once, never promotes twice; a replayed MODIFY republishes (at-least-once, like every
EventBridge delivery: subscribers deduplicate on eventId + userId + promotedAt)."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from shared.managers import promotion
from shared.observability import logger, metrics, observed

# What this function may do in AWS: tests/unit/test_template.py holds its packaged IAM role to exactly this.
GRANTS = {
    "dynamodb:GetRecords": {"RegistrationsTable/stream"},
    "dynamodb:GetShardIterator": {"RegistrationsTable/stream"},
    "dynamodb:DescribeStream": {"RegistrationsTable/stream"},
    "dynamodb:ListStreams": {"RegistrationsTable/stream"},
    "dynamodb:UpdateItem": {"EventsTable", "RegistrationsTable"},
    "dynamodb:GetItem": {"EventsTable"},
    "dynamodb:Query": {"WaitlistTable"},
    "dynamodb:DeleteItem": {"WaitlistTable"},
    "sqs:SendMessage": {"PromotionFailureQueue"},
    "events:PutEvents": {"EventBus"},
}

# Report every failed record, even when all fail: Lambda then bisects and retries from the
# lowest failed one instead of treating the whole invocation as one error.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def record_handler(record: DynamoDBRecord) -> None:
    kind = record.event_name.name if record.event_name else None
    old = (record.dynamodb.old_image if record.dynamodb else None) or {}
    new = (record.dynamodb.new_image if record.dynamodb else None) or {}
    if kind == "REMOVE" and old.get("status") == "confirmed":
        promotion.default().seat_freed(old["eventId"])
    elif kind == "MODIFY" and old.get("status") == "waitlisted" and new.get("status") == "confirmed":
        promotion.default().announce(new["eventId"], new["userId"], new["registeredAt"])
        metrics.add_metric(name="Promoted", unit=MetricUnit.Count, value=1)
        logger.info("Promoted", extra={"eventId": new["eventId"], "userId": new["userId"]})
    # Anything else: the event source filter already drops it; kept for runs without filters.


def handle(event, context):
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


lambda_handler = observed(handle)
