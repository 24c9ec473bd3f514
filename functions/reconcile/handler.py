"""Scheduled reconciliation (serverless.yml: every 15 minutes): repairs event counters that
disagree with the items they count, promotes anyone left waiting beside a free seat, and finishes
the deletion of events still marked deleting.

A healthy system writes nothing. The returned report lists what was repaired, per event."""

from aws_lambda_powertools.metrics import MetricUnit

from shared.managers import reconcile
from shared.observability import logger, metrics, observed

# What this function may do in AWS: tests/unit/test_template.py holds its packaged IAM role to exactly this.
GRANTS = {
    "dynamodb:Scan": {"EventsTable"},
    "dynamodb:GetItem": {"EventsTable"},
    "dynamodb:UpdateItem": {"EventsTable", "RegistrationsTable"},
    "dynamodb:Query": {"RegistrationsTable", "WaitlistTable"},
    "dynamodb:ConditionCheckItem": {"EventsTable"},
    "dynamodb:DeleteItem": {"EventsTable", "RegistrationsTable", "WaitlistTable"},
    "sqs:SendMessage": {"ReconcileFailureQueue"},
}


def handle(event, context):
    report = reconcile.default().reconcile_all(seconds_left=lambda: context.get_remaining_time_in_millis() / 1000)
    metrics.add_metric(name="CountersRepaired", unit=MetricUnit.Count, value=report.counters_repaired)
    if report.promoted:
        metrics.add_metric(name="Promoted", unit=MetricUnit.Count, value=report.promoted)
    logger.info(
        "reconciliation done",
        extra={
            "checked": report.checked,
            "repaired": len(report.repaired),
            "skipped": len(report.skipped),
            "deletionsFinished": len(report.deletions_finished),
        },
    )
    return report.to_dict()


lambda_handler = observed(handle)
