'use strict';

// Encryption at rest with the stage's own KMS key, per stage (params.customerManagedKeys; on in
// `prod`). Everything is already encrypted at rest with AWS-owned or AWS-managed keys; a
// customer-managed key adds control (key policy, rotation, CloudTrail record of every use, revocation)
// for $1/month plus requests. It is applied here, after the template is complete, so that every table,
// queue, topic and log group the stack has (the ones osls generates too) gets it, and every function
// role that reaches an encrypted table or queue is granted the key through that service only.
// Off, the plugin marks the tables, topics and log groups with the reason the CMK checks do not apply, so the
// scanner (`make scan`) still flags any other finding on them.
//   custom.encryption: { customerManagedKeys: true|false }
const KEY = 'DataKey';
const KEY_ARN = { 'Fn::GetAtt': [KEY, 'Arn'] };
const sub = (text) => ({ 'Fn::Sub': text });

const WITHOUT_CMK = {
  CKV_AWS_119:
    'customerManagedKeys is off for this stage (params.default): the table is encrypted with the ' +
    'AWS-owned key at no cost; the prod profile encrypts it with the stage CMK',
  CKV_AWS_26:
    'customerManagedKeys is off for this stage (params.default): alarm notifications carry alarm ' +
    'names and states only, and the AWS-managed SNS key would stop CloudWatch alarms from publishing; ' +
    'the prod profile encrypts the topic with the stage CMK, whose policy lets them',
  CKV_AWS_158:
    'customerManagedKeys is off for this stage (params.default): CloudWatch Logs encrypts log data ' +
    'at rest with its own keys and the functions log no personal data; the prod profile uses the stage CMK',
};

class Encryption {
  constructor(serverless) {
    this.serverless = serverless;
    // After `resources:` and `resources.extensions` are merged, before the template is written.
    this.hooks = { 'after:aws:package:finalize:mergeCustomProviderResources': () => this.apply() };
  }

  apply() {
    const settings = (this.serverless.service.custom || {}).encryption || {};
    const on = settings.customerManagedKeys;
    if (typeof on !== 'boolean') {
      throw new Error('custom.encryption.customerManagedKeys must be true or false');
    }
    const resources = this.serverless.service.provider.compiledCloudFormationTemplate.Resources;
    if (on) this.encrypt(resources);
    else this.explain(resources);
  }

  explain(resources) {
    for (const resource of Object.values(resources)) {
      const id = {
        'AWS::DynamoDB::Table': 'CKV_AWS_119',
        'AWS::SNS::Topic': 'CKV_AWS_26',
        'AWS::Logs::LogGroup': 'CKV_AWS_158',
      }[resource.Type];
      if (!id) continue;
      resource.Metadata = resource.Metadata || {};
      resource.Metadata.checkov = resource.Metadata.checkov || {};
      const skips = (resource.Metadata.checkov.skip = resource.Metadata.checkov.skip || []);
      skips.push({ id, comment: WITHOUT_CMK[id] });
    }
  }

  encrypt(resources) {
    const service = this.serverless.service.service;
    const stage = this.serverless.service.provider.stage;
    resources[KEY] = {
      Type: 'AWS::KMS::Key',
      // Retained tables stay readable only while their key exists.
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        Description: `${service} ${stage}: tables, streams, queues, alarm topic and log groups`,
        EnableKeyRotation: true,
        KeyPolicy: {
          Version: '2012-10-17',
          Statement: [
            {
              // The account's IAM policies decide who may use the key (the function roles below).
              Sid: 'AccountIamPoliciesGovernTheKey',
              Effect: 'Allow',
              Principal: { AWS: sub('arn:${AWS::Partition}:iam::${AWS::AccountId}:root') },
              Action: 'kms:*',
              Resource: '*',
            },
            {
              Sid: 'CloudWatchLogsForThisStacksLogGroupsOnly',
              Effect: 'Allow',
              Principal: { Service: sub('logs.${AWS::Region}.amazonaws.com') },
              Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
              Resource: '*',
              Condition: {
                ArnLike: {
                  'kms:EncryptionContext:aws:logs:arn': [
                    sub(`arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${service}-${stage}-*`),
                    sub(`arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/api-gateway/${service}-${stage}`),
                  ],
                },
              },
            },
            {
              // Alarms publish to the encrypted topic (the AWS-managed SNS key cannot allow this).
              Sid: 'CloudWatchAlarmsOfThisAccountPublishToTheTopic',
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
              Resource: '*',
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            },
          ],
        },
      },
    };
    resources[`${KEY}Alias`] = {
      Type: 'AWS::KMS::Alias',
      Properties: { AliasName: `alias/${service}-${stage}`, TargetKeyId: { Ref: KEY } },
    };

    for (const resource of Object.values(resources)) {
      const properties = (resource.Properties = resource.Properties || {});
      switch (resource.Type) {
        case 'AWS::DynamoDB::Table':
          properties.SSESpecification = { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: KEY_ARN };
          break;
        case 'AWS::SQS::Queue':
          delete properties.SqsManagedSseEnabled;
          properties.KmsMasterKeyId = KEY_ARN;
          break;
        case 'AWS::SNS::Topic':
          properties.KmsMasterKeyId = KEY_ARN;
          break;
        case 'AWS::Logs::LogGroup':
          properties.KmsKeyId = KEY_ARN;
          break;
        case 'AWS::IAM::Role':
          grantKeyUse(properties);
          break;
        default:
      }
    }
  }
}

// A role that reads or writes a table may decrypt its table key through DynamoDB (streams included);
// one that sends to a queue may make and read its data keys through SQS. Nothing else, nowhere else.
function grantKeyUse(role) {
  const actions = new Set();
  for (const policy of role.Policies || []) {
    for (const statement of policy.PolicyDocument.Statement) {
      for (const action of [].concat(statement.Action)) actions.add(action);
    }
  }
  const grants = [];
  if ([...actions].some((action) => action.startsWith('dynamodb:'))) {
    grants.push(viaService('dynamodb', ['kms:Decrypt']));
  }
  if (actions.has('sqs:SendMessage')) {
    grants.push(viaService('sqs', ['kms:GenerateDataKey', 'kms:Decrypt']));
  }
  if (grants.length) role.Policies[0].PolicyDocument.Statement.push(...grants);
}

function viaService(service, actions) {
  return {
    Effect: 'Allow',
    Action: actions,
    Resource: KEY_ARN,
    Condition: { StringEquals: { 'kms:ViaService': sub(`${service}.\${AWS::Region}.amazonaws.com`) } },
  };
}

module.exports = Encryption;
