'use strict';

// Stage-wide API Gateway throttling (rate and burst) and metrics, per stage, set in CloudFormation:
// the Framework creates the stage through its Deployment resource, whose logical id changes with
// every package, so `resources:` cannot reach it. This fills the Deployment's StageDescription.
//   custom.apiStage: { rateLimit, burstLimit, methods: [{ path, method, rateLimit, burstLimit }] }
// `methods`: a bound of their own for some routes (at most the stage's), as MethodSettings.
// Also Lambda SnapStart for every function when custom.snapStart is true (a stage parameter: the
// Framework takes `snapStart` per function only, and a parameter arrives as the string "true").
class StageSettings {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'before:package:compileFunctions': () => this.snapStart(),
      'before:package:finalize': () => this.apply(),
    };
  }

  snapStart() {
    const setting = String((this.serverless.service.custom || {}).snapStart);
    if (!['true', 'false', 'undefined'].includes(setting)) {
      throw new Error(`custom.snapStart must be true or false, not ${setting}`);
    }
    if (setting !== 'true') return;
    for (const name of this.serverless.service.getAllFunctions()) {
      // Published versions only: the Framework adds a version and a `snapshot` alias, and points
      // every event source at the alias.
      this.serverless.service.getFunction(name).snapStart = true;
    }
  }

  apply() {
    const settings = (this.serverless.service.custom || {}).apiStage || {};
    const rate = Number(settings.rateLimit);
    const burst = Number(settings.burstLimit);
    if (!Number.isFinite(rate) || !Number.isFinite(burst)) {
      throw new Error('custom.apiStage needs numeric rateLimit and burstLimit');
    }
    const methods = (settings.methods || []).map((entry) => {
      const methodRate = Number(entry.rateLimit);
      const methodBurst = Number(entry.burstLimit);
      if (!Number.isFinite(methodRate) || !Number.isFinite(methodBurst) || !entry.path || !entry.method) {
        throw new Error('custom.apiStage.methods: each needs path, method and numeric rateLimit and burstLimit');
      }
      return {
        // MethodSettings name a resource path with each "/" written "~1".
        ResourcePath: entry.path.replace(/\//g, '~1'),
        HttpMethod: entry.method.toUpperCase(),
        ThrottlingRateLimit: Math.min(methodRate, rate),
        ThrottlingBurstLimit: Math.min(methodBurst, burst),
        MetricsEnabled: true,
      };
    });
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
          ...methods,
        ],
      };
    }
  }
}

module.exports = StageSettings;
