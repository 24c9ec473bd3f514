"""The Events stream, after the filter in serverless.yml lets through two kinds of MODIFY record:

- the event was marked deleting (DELETE of an event too large to go at once) → remove its
  registrations and waitlist entries, then the event, each batch conditional on the generation
  marked;
- people wait on the event → when the write raised its capacity (or removed it), promote them in
  FIFO order until it is full again (a filter cannot compare the two images: the manager does).

Every step is conditional, so a record delivered twice, or retried after a crash half-way,
continues where the last run stopped and never touches an event re-created under the same id."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from shared.managers import event_changes
from shared.observability import logger, metrics, observed

# What this function may do in AWS: tests/unit/test_template.py holds its packaged IAM role to exactly this.
GRANTS = {
    "dynamodb:GetRecords": {"EventsTable/stream"},
    "dynamodb:GetShardIterator": {"EventsTable/stream"},
    "dynamodb:DescribeStream": {"EventsTable/stream"},
    "dynamodb:ListStreams": {"EventsTable/stream"},
    "dynamodb:UpdateItem": {"EventsTable", "RegistrationsTable"},
    "dynamodb:ConditionCheckItem": {"EventsTable"},
    "dynamodb:GetItem": {"EventsTable"},
    "dynamodb:Query": {"RegistrationsTable", "WaitlistTable"},
    "dynamodb:DeleteItem": {"EventsTable", "RegistrationsTable", "WaitlistTable"},
    "sqs:SendMessage": {"EventChangesFailureQueue"},
}

# Report every failed record, even when all fail: Lambda then bisects and retries from the
# lowest failed one instead of treating the whole invocation as one error.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def record_handler(record: DynamoDBRecord) -> None:
    if record.event_name is None or record.event_name.name != "MODIFY" or record.dynamodb is None:
        return  # the event source filter already drops these; kept for runs without filters
    outcome = event_changes.default().changed(record.dynamodb.old_image or {}, record.dynamodb.new_image or {})
    if outcome is None:
        return
    if outcome.removed is not None:
        metrics.add_metric(name="EventChildrenRemoved", unit=MetricUnit.Count, value=outcome.removed)
        logger.info("event deletion finished", extra={"eventId": outcome.eventId, "removed": outcome.removed})
    if outcome.promoted:
        metrics.add_metric(name="PromotedAfterCapacityRaise", unit=MetricUnit.Count, value=len(outcome.promoted))
        logger.info("capacity raise promoted", extra={"eventId": outcome.eventId, "promoted": len(outcome.promoted)})


def handle(event, context):
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


lambda_handler = observed(handle)
