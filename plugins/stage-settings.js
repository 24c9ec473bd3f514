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
    markLoggingRoleHelper(template.Resources);
  }
}

// Stage access logs need API Gateway's account-wide CloudWatch role. Unless the account manages it
// (params.apiLogRoleManagedExternally), osls adds a deploy-time custom-resource function that sets it;
// the scanner's Lambda findings on it get their reason here, since only some stages have it.
const LOGGING_ROLE_HELPER = 'CustomDashresourceDashapigwDashcwDashroleLambdaFunction';
function markLoggingRoleHelper(resources) {
  const helper = resources[LOGGING_ROLE_HELPER];
  if (!helper) return;
  const why = 'osls deploy-time helper: CloudFormation alone invokes it, once per deployment, as a custom resource';
  helper.Metadata = {
    checkov: {
      skip: [
        { id: 'CKV_AWS_115', comment: `${why}; it never runs concurrently with itself` },
        { id: 'CKV_AWS_116', comment: `${why}; a failure fails the deployment, which CloudFormation reports` },
      ],
    },
  };
}

module.exports = StageSettings;
