"""Promotes from the waitlist after a confirmed registration is removed (Registrations stream).

Each record names an event that may have a free seat; promotion is conditional on that seat and on
the head entry, so replaying records, or running two batches at once, never promotes twice."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from shared.managers import waitlist
from shared.observability import logger, metrics

# Report every failed record, even when all fail: Lambda then bisects and retries from the
# lowest failed one instead of treating the whole invocation as one error.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def record_handler(record: DynamoDBRecord) -> None:
    old = record.dynamodb.old_image if record.dynamodb else None
    if record.event_name is None or record.event_name.name != "REMOVE" or not old or old.get("status") != "confirmed":
        return  # the event source filter already drops these; kept for local runs without filters
    event_id = old["eventId"]
    promoted = waitlist.default().promote_all(event_id)
    if promoted:
        metrics.add_metric(name="Promoted", unit=MetricUnit.Count, value=len(promoted))


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event, context):
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
