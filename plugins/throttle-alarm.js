'use strict';

// The DynamoDB throttling alarm watches ReadThrottleEvents and WriteThrottleEvents of each table
// custom.throttleAlarm.tables names (logical ids): two metric queries per table, `read<i>` and
// `write<i>`, appended to the alarm's Metrics, whose first query sums them (SUM(METRICS())).
//   custom.throttleAlarm: { alarm: <logical id of the alarm>, tables: [<table logical id>, …] }
class ThrottleAlarm {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:aws:package:finalize:mergeCustomProviderResources': () => this.apply() };
  }

  apply() {
    const service = this.serverless.service;
    const settings = (service.custom || {}).throttleAlarm || {};
    const resources = (service.resources || {}).Resources || {};
    const alarm = resources[settings.alarm];
    if (!alarm || alarm.Type !== 'AWS::CloudWatch::Alarm') {
      throw new Error('custom.throttleAlarm.alarm must name an AWS::CloudWatch::Alarm in resources');
    }
    const tables = settings.tables || [];
    for (const table of tables) {
      if (!resources[table] || resources[table].Type !== 'AWS::DynamoDB::Table') {
        throw new Error(`custom.throttleAlarm.tables: ${table} is no AWS::DynamoDB::Table in resources`);
      }
    }
    const queries = tables.flatMap((table, index) =>
      ['Read', 'Write'].map((kind) => ({
        Id: `${kind.toLowerCase()}${index}`,
        ReturnData: false,
        MetricStat: {
          Metric: {
            Namespace: 'AWS/DynamoDB',
            MetricName: `${kind}ThrottleEvents`,
            Dimensions: [{ Name: 'TableName', Value: { Ref: table } }],
          },
          Period: 60,
          Stat: 'Sum',
        },
      })),
    );
    alarm.Properties.Metrics = [...(alarm.Properties.Metrics || []), ...queries];
  }
}

module.exports = ThrottleAlarm;
