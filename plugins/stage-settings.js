'use strict';

// Stage-wide API Gateway throttling (rate and burst) and metrics, per stage, set in CloudFormation:
// the Framework creates the stage through its Deployment resource, whose logical id changes with
// every package, so `resources:` cannot reach it. This fills the Deployment's StageDescription.
//   custom.apiStage: { rateLimit, burstLimit }
class StageSettings {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:finalize': () => this.apply() };
  }

  apply() {
    const settings = (this.serverless.service.custom || {}).apiStage || {};
    const rate = Number(settings.rateLimit);
    const burst = Number(settings.burstLimit);
    if (!Number.isFinite(rate) || !Number.isFinite(burst)) {
      throw new Error('custom.apiStage needs numeric rateLimit and burstLimit');
    }
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    for (const resource of Object.values(template.Resources)) {
      if (resource.Type !== 'AWS::ApiGateway::Deployment') continue;
      resource.Properties.StageDescription = {
        ThrottlingRateLimit: rate,
        ThrottlingBurstLimit: burst,
        MetricsEnabled: true,
        MethodSettings: [
          {
            ResourcePath: '/*',
            HttpMethod: '*',
            ThrottlingRateLimit: rate,
            ThrottlingBurstLimit: burst,
            MetricsEnabled: true,
          },
        ],
      };
    }
  }
}

module.exports = StageSettings;
