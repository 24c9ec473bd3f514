'use strict';

// Checkov findings (`make scan`) that do not apply to a whole class of generated resources, written
// into their Metadata with the reason, so that a new route or function of the class needs no entry
// of its own while any other finding on it still fails the scan. One-off skips live next to their
// resource in serverless.yml (`resources`, `resources.extensions`).
//   custom.scanSkips: { fallbackFunction: <the function answering 404/405 on ANY> }
const API_FUNCTION = {
  CKV_AWS_115:
    'API function: its concurrency is bounded by the API Gateway stage throttle (params ' +
    'throttleRate/throttleBurst); a per-route reservation would cap a busy route while idle routes hold capacity',
  CKV_AWS_116:
    'API function: API Gateway invokes it synchronously and returns its error to the caller; ' +
    'a dead-letter queue only ever receives asynchronous invocations',
};
const FALLBACK_METHOD = {
  CKV_AWS_59:
    "Fallback: answers 404 (unknown path) or 405 (wrong method) and reads no data; its role may write its own logs only",
};
// osls adds it when it must point API Gateway's account setting at a logging role
// (params.apiLogRoleManagedExternally false); CloudFormation alone invokes it.
const LOGGING_ROLE_HELPER = 'CustomDashresourceDashapigwDashcwDashroleLambdaFunction';
const HELPER = {
  CKV_AWS_115: 'osls deploy-time helper: CloudFormation alone invokes it, once per deployment, as a custom resource',
  CKV_AWS_116:
    'osls deploy-time helper invoked by CloudFormation as a custom resource: a failure fails the ' +
    'deployment, which CloudFormation reports and rolls back',
};

class ScanSkips {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'after:aws:package:finalize:mergeCustomProviderResources': () => this.apply() };
  }

  apply() {
    const service = this.serverless.service;
    const naming = this.serverless.getProvider('aws').naming;
    const resources = service.provider.compiledCloudFormationTemplate.Resources;
    const fallback = ((service.custom || {}).scanSkips || {}).fallbackFunction;
    if (!service.functions[fallback]) throw new Error('custom.scanSkips.fallbackFunction must name a function');

    for (const [name, fn] of Object.entries(service.functions)) {
      if ((fn.events || []).some((event) => event.http)) skip(resources[naming.getLambdaLogicalId(name)], API_FUNCTION);
    }
    const fallbackId = naming.getLambdaLogicalId(fallback);
    for (const resource of Object.values(resources)) {
      if (resource.Type === 'AWS::ApiGateway::Method' && resource.Properties.HttpMethod === 'ANY') {
        if (!JSON.stringify(resource.Properties.Integration).includes(`"${fallbackId}"`)) {
          throw new Error(`an ANY method that is not ${fallback}'s: decide its scanner findings`);
        }
        skip(resource, FALLBACK_METHOD);
      }
    }
    if (resources[LOGGING_ROLE_HELPER]) skip(resources[LOGGING_ROLE_HELPER], HELPER);
  }
}

function skip(resource, reasons) {
  resource.Metadata = resource.Metadata || {};
  resource.Metadata.checkov = resource.Metadata.checkov || {};
  resource.Metadata.checkov.skip = resource.Metadata.checkov.skip || [];
  for (const [id, comment] of Object.entries(reasons)) resource.Metadata.checkov.skip.push({ id, comment });
}

module.exports = ScanSkips;
