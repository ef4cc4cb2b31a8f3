/**
 * The synthesised ServerlessStack read as an AWS engineer would: the function and its
 * image, the event path and its two layers of retries into one DLQ, the function URL that
 * only CloudFront may call, least privilege, no network to run, the alarms.
 * node:test + aws-cdk-lib/assertions; cdk-nag AwsSolutions runs on the same app.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { App, Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { lambdaImageFromUri } from '../lib/image';
import { GalleryDataStack } from '../lib/stacks/gallery-data-stack';
import {
  LAMBDA_COMMAND,
  MB_PER_VCPU,
  reserveMsForMemory,
  ServerlessStack,
  ServerlessStackProps,
} from '../lib/stacks/serverless-stack';
import {
  assertNagPasses,
  assertRenderLifecycle,
  Built as BuiltStack,
  cdkJson,
  finishBuild,
  infraDir,
  logicalIdIn,
  nagFailureReport,
  onlyOne,
  Res,
} from './support';

const IMAGE_URI = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/enlarger:1.0.0';

type Built = BuiltStack<ServerlessStack>;

function build(
  opts: {
    nag?: boolean;
    /** 'default': the image asset built from docker/Dockerfile; else an ECR image. */
    image?: 'default' | 'ecr';
    stage?: string;
    props?: Partial<ServerlessStackProps> | ((data: GalleryDataStack) => Partial<ServerlessStackProps>);
    extra?: (s: ServerlessStack) => void;
  } = {},
): Built {
  const app = new App({ context: cdkJson.context, outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-')) });
  const env = { region: 'eu-west-1' };
  const stage = opts.stage ?? 'test';
  const data = new GalleryDataStack(app, 'data', { env, stage });
  const stack = new ServerlessStack(app, 'serverless', {
    env,
    stage,
    originalsBucket: data.originalsBucket,
    photosTable: data.photosTable,
    image: opts.image === 'default' ? undefined : lambdaImageFromUri(data, 'Repo', IMAGE_URI, LAMBDA_COMMAND, env.region),
    ...(typeof opts.props === 'function' ? opts.props(data) : opts.props),
  });
  return finishBuild(app, data, stack, opts);
}

const built = build();
const { t, res, stack } = built;

function all(type: string): [string, Res][] {
  return Object.entries(res).filter(([, r]) => r.Type === type);
}
function only(type: string, r: Record<string, Res> = res): [string, Res] {
  return onlyOne(r, type);
}
function logicalId(construct: any): string {
  return logicalIdIn(stack, construct);
}
/** The enlarger function (not CDK's own helper functions). */
function fn(r: Record<string, Res> = res): [string, Res] {
  const found = Object.entries(r).filter(([, x]) => x.Type === 'AWS::Lambda::Function' && x.Properties.PackageType === 'Image');
  assert.equal(found.length, 1);
  return found[0];
}

describe('the function', () => {
  it('runs the image on arm64 with the command `lambda`, 1769 MB (one vCPU) and 30 s', () => {
    const [, f] = fn();
    assert.deepEqual(f.Properties.Architectures, ['arm64']);
    assert.deepEqual(f.Properties.ImageConfig, { Command: ['lambda'] });
    assert.equal(f.Properties.MemorySize, 1769);
    assert.equal(f.Properties.Timeout, 30);
    assert.match(JSON.stringify(f.Properties.Code.ImageUri), /enlarger:1\.0\.0/);
    assert.equal(f.Properties.VpcConfig, undefined, 'no VPC');
    assert.equal(f.Properties.ReservedConcurrentExecutions, undefined, 'no reservation unless asked');
  });

  it('is configured for S3 and DynamoDB like the service, with no secret and no AWS_REGION', () => {
    const [, f] = fn();
    const v = f.Properties.Environment.Variables;
    assert.deepEqual(Object.keys(v).sort(), [
      'ENLARGER_BACKEND',
      'ENLARGER_LAMBDA_RESERVE_MS',
      'ENLARGER_OPTIMIZED_BUCKET',
      'ENLARGER_ORIGINALS_BUCKET',
      'ENLARGER_RENDER_BUCKET',
      'ENLARGER_RENDER_WIDTHS',
      'ENLARGER_TABLE',
      'ENLARGER_TABLE_KEY',
      'ENLARGER_THUMBNAILS_BUCKET',
    ]);
    assert.equal(v.ENLARGER_BACKEND, 'aws');
    assert.equal(v.ENLARGER_LAMBDA_RESERVE_MS, '10000');
    assert.deepEqual(v.ENLARGER_RENDER_BUCKET, { Ref: logicalId(stack.renderCacheBucket) });
    assert.equal(all('AWS::SecretsManager::Secret').length, 0);
  });

  it('sets the width list: the service\'s default, or renderWidths', () => {
    const [, f] = fn();
    const header = fs.readFileSync(path.join(infraDir, '..', 'include', 'enlarger', 'defaults.h'), 'utf8');
    const m = /#define ENL_DEFAULT_RENDER_WIDTHS "([0-9,]+)"/.exec(header);
    assert.ok(m);
    assert.equal(f.Properties.Environment.Variables.ENLARGER_RENDER_WIDTHS, m![1]);
    const [, g] = fn(build({ props: { renderWidths: [320, 640, 1280] } }).res);
    assert.equal(g.Properties.Environment.Variables.ENLARGER_RENDER_WIDTHS, '320,640,1280');
  });

  it('takes memory and reserved concurrency as props; the reserve follows the CPU share', () => {
    const b = build({ props: { memorySize: 1024, reservedConcurrency: 20 } });
    const [, f] = fn(b.res);
    assert.equal(f.Properties.MemorySize, 1024);
    assert.equal(f.Properties.ReservedConcurrentExecutions, 20);
    assert.equal(f.Properties.Environment.Variables.ENLARGER_LAMBDA_RESERVE_MS, String(reserveMsForMemory(1024)));
    assert.equal(reserveMsForMemory(1024), 17276);
    assert.equal(reserveMsForMemory(MB_PER_VCPU), 10000);
    assert.equal(reserveMsForMemory(4096), 10000, 'more cores do not shorten one job');
  });

  it('refuses a memory size whose reserve the timeout cannot hold, and a timeout CloudFront cannot wait for', () => {
    assert.throws(() => build({ props: { memorySize: 512 } }), /ENLARGER_LAMBDA_RESERVE_MS/);
    assert.throws(() => build({ props: { timeout: Duration.seconds(60) } }), /CloudFront/);
  });

  it('builds docker/Dockerfile for linux/arm64 by default, with the command `lambda`', () => {
    const b = build({ image: 'default' });
    const [, f] = fn(b.res);
    assert.deepEqual(f.Properties.ImageConfig, { Command: ['lambda'] });
    const asm = b.app.synth();
    const assets = JSON.parse(fs.readFileSync(path.join(asm.directory, 'serverless.assets.json'), 'utf8'));
    const images = Object.values(assets.dockerImages ?? {}) as any[];
    assert.equal(images.length, 1);
    assert.equal(images[0].source.dockerFile, 'docker/Dockerfile');
    assert.equal(images[0].source.platform, 'linux/arm64');
  });

  it('writes its logs to its own group, kept a month', () => {
    const [logId, lg] = only('AWS::Logs::LogGroup');
    const [, f] = fn();
    assert.deepEqual(f.Properties.LoggingConfig, { LogGroup: { Ref: logId } });
    assert.equal(lg.Properties.RetentionInDays, 30);
  });
});

describe('IAM: the function role can do exactly what the service does', () => {
  function statements(): { sid?: string; actions: string[]; resource: string }[] {
    const [, f] = fn();
    const roleId = f.Properties.Role['Fn::GetAtt'][0];
    const role = res[roleId];
    assert.deepEqual(role.Properties.AssumeRolePolicyDocument.Statement[0].Principal, { Service: 'lambda.amazonaws.com' });
    assert.equal(role.Properties.ManagedPolicyArns, undefined, 'no managed policies (no AWSLambdaBasicExecutionRole)');
    const out: { sid?: string; actions: string[]; resource: string }[] = [];
    for (const [, p] of all('AWS::IAM::Policy')) {
      if (!p.Properties.Roles.some((x: any) => x.Ref === roleId)) continue;
      for (const s of p.Properties.PolicyDocument.Statement) {
        assert.equal(s.Effect, 'Allow');
        assert.equal(s.Condition, undefined);
        for (const r of ([] as any[]).concat(s.Resource)) {
          out.push({ sid: s.Sid, actions: ([] as string[]).concat(s.Action).sort(), resource: JSON.stringify(r) });
        }
      }
    }
    return out;
  }

  it('lists every action on every resource, and nothing else', () => {
    const st = statements();
    const bySid = (sid: string) => st.filter((s) => s.sid === sid);
    const thumbs = logicalId(stack.thumbnailsBucket);
    const optimized = logicalId(stack.optimizedBucket);
    const renders = logicalId(stack.renderCacheBucket);
    assert.deepEqual(bySid('ReadOriginals').map((s) => s.actions), [['s3:GetObject']]);
    assert.match(bySid('ReadOriginals')[0].resource, /Originals.*\/\*/);
    assert.deepEqual(bySid('ListOriginals').map((s) => s.actions), [['s3:ListBucket']]);
    assert.deepEqual(
      bySid('WriteDerivatives').map((s) => [s.actions, s.resource.includes(thumbs) || s.resource.includes(optimized)]),
      [
        [['s3:DeleteObject', 's3:PutObject'], true],
        [['s3:DeleteObject', 's3:PutObject'], true],
      ],
    );
    assert.deepEqual(
      bySid('ListDerivatives').map((s) => [s.actions, s.resource.includes(thumbs) || s.resource.includes(optimized)]),
      [
        [['s3:ListBucket'], true],
        [['s3:ListBucket'], true],
      ],
    );
    assert.deepEqual(bySid('ReadWriteRenderCache').map((s) => s.actions), [
      ['s3:DeleteObject', 's3:GetObject', 's3:PutObject', 's3:PutObjectTagging'],
    ]);
    assert.match(bySid('ReadWriteRenderCache')[0].resource, new RegExp(renders));
    assert.deepEqual(bySid('ListRenderCache').map((s) => s.actions), [['s3:ListBucket']]);
    assert.deepEqual(bySid('UpdatePhotoItems').map((s) => s.actions), [['dynamodb:GetItem', 'dynamodb:UpdateItem']]);
    const [logId] = only('AWS::Logs::LogGroup');
    assert.deepEqual(bySid('WriteOwnLogs'), [
      { sid: 'WriteOwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resource: JSON.stringify({ 'Fn::GetAtt': [logId, 'Arn'] }) },
    ]);
    // The on-failure destination: send to the DLQ, nothing else, on nothing else.
    const [dlqId] = only('AWS::SQS::Queue');
    const rest = st.filter((s) => !s.sid);
    assert.deepEqual(rest, [
      { sid: undefined, actions: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], resource: JSON.stringify({ 'Fn::GetAtt': [dlqId, 'Arn'] }) },
    ]);
    assert.ok(st.every((s) => s.actions.every((a) => !a.includes('*'))), 'no wildcard actions');
  });
});

describe('EventBridge: Object Created and Deleted -> the function, retried, then one DLQ', () => {
  it('matches exactly S3 Object Created and Object Deleted events of the originals bucket', () => {
    const [, rule] = only('AWS::Events::Rule');
    assert.deepEqual(rule.Properties.EventPattern.source, ['aws.s3']);
    assert.deepEqual(rule.Properties.EventPattern['detail-type'], ['Object Created', 'Object Deleted']);
    assert.deepEqual(Object.keys(rule.Properties.EventPattern.detail), ['bucket']);
    assert.match(JSON.stringify(rule.Properties.EventPattern.detail.bucket.name), /Fn::ImportValue.*Originals/);
  });

  it('targets the function directly, with the retry policy and the DLQ on the target', () => {
    const [, rule] = only('AWS::Events::Rule');
    const [fnId] = fn();
    const [dlqId] = only('AWS::SQS::Queue');
    assert.equal(rule.Properties.Targets.length, 1);
    const target = rule.Properties.Targets[0];
    assert.deepEqual(target.Arn, { 'Fn::GetAtt': [fnId, 'Arn'] });
    assert.deepEqual(target.RetryPolicy, { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 });
    assert.deepEqual(target.DeadLetterConfig, { Arn: { 'Fn::GetAtt': [dlqId, 'Arn'] } });
    assert.equal(target.Input, undefined, 'the whole event is the payload');
    t.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [only('AWS::Events::Rule')[0], 'Arn'] },
    });
  });

  it("retries a failed event twice in Lambda, keeps it at most 6 h, then sends it to the same DLQ", () => {
    const [, cfg] = only('AWS::Lambda::EventInvokeConfig');
    const [fnId] = fn();
    const [dlqId] = only('AWS::SQS::Queue');
    assert.deepEqual(cfg.Properties.FunctionName, { Ref: fnId });
    assert.equal(cfg.Properties.MaximumRetryAttempts, 2);
    assert.equal(cfg.Properties.MaximumEventAgeInSeconds, 6 * 3600);
    assert.deepEqual(cfg.Properties.DestinationConfig, { OnFailure: { Destination: { 'Fn::GetAtt': [dlqId, 'Arn'] } } });
  });

  it('lets only the rule (queue policy) and the function (its role) send to the DLQ, over TLS', () => {
    const [ruleId] = only('AWS::Events::Rule');
    const [, qp] = only('AWS::SQS::QueuePolicy');
    const st = qp.Properties.PolicyDocument.Statement;
    const allow = st.filter((s: any) => s.Effect === 'Allow');
    assert.equal(allow.length, 1);
    assert.deepEqual(allow[0].Principal, { Service: 'events.amazonaws.com' });
    assert.deepEqual(allow[0].Condition, { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } });
    assert.ok(st.some((s: any) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false'));
    const [, dlq] = only('AWS::SQS::Queue');
    assert.equal(dlq.Properties.MessageRetentionPeriod, 14 * 24 * 3600);
    assert.equal(dlq.Properties.SqsManagedSseEnabled, true);
  });

  it('turns on EventBridge notifications for the originals bucket', () => {
    Template.fromStack(built.data).hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
  });
});

describe('CloudFront and the function URL', () => {
  const [, dist] = only('AWS::CloudFront::Distribution');
  const cfg = dist.Properties.DistributionConfig;
  const originById = (id: string) => cfg.Origins.find((o: any) => o.Id === id);

  it('gives the function a URL with AWS_IAM auth, buffered (the 6 MB the service checks)', () => {
    const [, url] = only('AWS::Lambda::Url');
    assert.equal(url.Properties.AuthType, 'AWS_IAM');
    assert.equal(url.Properties.InvokeMode, 'BUFFERED');
  });

  it('sends /render/* to the function URL through origin access control, and lets only this distribution call it', () => {
    const render = cfg.CacheBehaviors.find((b: any) => b.PathPattern === '/render/*');
    const origin = originById(render.TargetOriginId);
    assert.match(JSON.stringify(origin.DomainName), /FunctionUrl/);
    assert.equal(origin.CustomOriginConfig.OriginProtocolPolicy, 'https-only');
    assert.equal(origin.CustomOriginConfig.OriginReadTimeout, 30);
    assert.equal(origin.OriginCustomHeaders, undefined, 'no secret header: CloudFront signs');
    const oac = res[origin.OriginAccessControlId['Fn::GetAtt'][0]];
    assert.equal(oac.Properties.OriginAccessControlConfig.OriginAccessControlOriginType, 'lambda');
    assert.equal(oac.Properties.OriginAccessControlConfig.SigningBehavior, 'always');
    assert.deepEqual(render.AllowedMethods, ['GET', 'HEAD']);
    const perms = all('AWS::Lambda::Permission').filter(([, p]) => p.Properties.Principal === 'cloudfront.amazonaws.com');
    assert.ok(perms.length >= 1);
    for (const [, p] of perms) {
      assert.match(JSON.stringify(p.Properties.SourceArn), new RegExp(`distribution/.*${only('AWS::CloudFront::Distribution')[0]}`));
    }
    assert.ok(perms.some(([, p]) => p.Properties.Action === 'lambda:InvokeFunctionUrl'));
    // No one else: the only other permission is the rule's.
    const others = all('AWS::Lambda::Permission').filter(([, p]) => p.Properties.Principal !== 'cloudfront.amazonaws.com');
    assert.deepEqual(others.map(([, p]) => p.Properties.Principal), ['events.amazonaws.com']);
  });

  it('serves thumbnails and optimized from S3 through origin access control, with the Fargate stack\'s cache policy', () => {
    const paths = cfg.CacheBehaviors.map((b: any) => b.PathPattern).sort();
    assert.deepEqual(paths, ['/optimized/*', '/render/*', '/thumbnails/*']);
    t.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: {
        ParametersInCacheKeyAndForwardedToOrigin: {
          HeadersConfig: { HeaderBehavior: 'whitelist', Headers: ['accept'] },
          QueryStringsConfig: { QueryStringBehavior: 'whitelist', QueryStrings: ['w', 'h', 'fit', 'q', 'fmt', 'v', 'sig'] },
        },
      },
    });
  });
});

describe('no network to run', () => {
  it('has no VPC, NAT gateway, load balancer, ECS or secret', () => {
    for (const type of [
      'AWS::EC2::VPC',
      'AWS::EC2::NatGateway',
      'AWS::ElasticLoadBalancingV2::LoadBalancer',
      'AWS::ECS::Cluster',
      'AWS::SecretsManager::Secret',
      'AWS::EC2::VPCEndpoint',
    ]) {
      assert.equal(all(type).length, 0, type);
    }
  });
});

describe('storage', () => {
  it('makes every bucket private, encrypted and TLS-only, and keeps them in prod', () => {
    for (const [, b] of all('AWS::S3::Bucket')) {
      assert.deepEqual(b.Properties.PublicAccessBlockConfiguration, {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      assert.ok(b.Properties.BucketEncryption);
    }
    const prod = build({ stage: 'prod' });
    for (const [, b] of Object.entries(prod.res).filter(([, r]) => r.Type === 'AWS::S3::Bucket')) {
      assert.equal(b.DeletionPolicy, 'Retain');
    }
    assert.equal(only('AWS::SQS::Queue', prod.res)[1].DeletionPolicy, 'Retain');
  });

  it('expires rendered variants only (tagged), after renderCacheExpirationDays', () => {
    assertRenderLifecycle(res[logicalId(stack.renderCacheBucket)], 30);
    const week = build({ props: { renderCacheExpirationDays: 7 } });
    assertRenderLifecycle(week.res[logicalIdIn(week.stack, week.stack.renderCacheBucket)], 7);
  });
});

describe('alarms', () => {
  const alarms = all('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
  const [topicId] = only('AWS::SNS::Topic');

  it('sends every alarm to one SNS topic, and outputs it', () => {
    assert.equal(alarms.length, 8);
    for (const a of alarms) assert.deepEqual(a.AlarmActions, [{ Ref: topicId }]);
    t.hasOutput('AlarmTopicArn', { Value: { Ref: topicId } });
  });

  it('alarms on the DLQ, on events EventBridge or Lambda could not deliver or dropped, and on the function', () => {
    const metrics = alarms.filter((a) => a.MetricName).map((a) => `${a.Namespace}/${a.MetricName}`).sort();
    assert.deepEqual(metrics, [
      'AWS/Events/FailedInvocations',
      'AWS/Events/InvocationsFailedToBeSentToDlq',
      'AWS/Lambda/AsyncEventsDropped',
      'AWS/Lambda/DestinationDeliveryFailures',
      'AWS/Lambda/Duration',
      'AWS/Lambda/Throttles',
      'AWS/SQS/ApproximateNumberOfMessagesVisible',
    ]);
    const errors = alarms.find((a) => a.Metrics);
    assert.match(JSON.stringify(errors.Metrics), /Errors.*Invocations|Invocations.*Errors/s);
    assert.equal(errors.Threshold, 5);
    const duration = alarms.find((a) => a.MetricName === 'Duration');
    assert.equal(duration.ExtendedStatistic, 'p99');
    assert.equal(duration.Threshold, 24000, '80 % of the 30 s timeout');
  });

  it("uses the gallery's topic when given one", () => {
    const ops = 'arn:aws:sns:eu-west-1:123456789012:ops';
    const b = build({ props: (data) => ({ alarmTopic: sns.Topic.fromTopicArn(data, 'Ops', ops) }) });
    assert.equal(Object.values(b.res).filter((r) => r.Type === 'AWS::SNS::Topic').length, 0);
    for (const a of Object.values(b.res).filter((r) => r.Type === 'AWS::CloudWatch::Alarm')) {
      assert.deepEqual(a.Properties.AlarmActions, [ops]);
    }
  });
});

describe('cdk-nag AwsSolutions', () => {
  const failedNagReport = (opts: Parameters<typeof build>[0]): string => nagFailureReport(() => build(opts));
  const passes = (b: Built) => assertNagPasses(b.app);

  it('passes with an ECR image, with the image built from docker/Dockerfile, and in prod', () => {
    passes(build({ nag: true }));
    passes(build({ nag: true, image: 'default' }));
    passes(build({ nag: true, image: 'default', stage: 'prod', props: { reservedConcurrency: 50, corsAllowedOrigins: ['https://gallery.example.com'] } }));
  });

  it('fails when the function role gets a wildcard action (the check can fail)', () => {
    const report = failedNagReport({
      nag: true,
      extra: (s) => s.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] })),
    });
    assert.match(report, /AwsSolutions-IAM5/);
    assert.match(report, /FunctionRole/);
  });

  it('fails on an unacknowledged finding elsewhere', () => {
    const report = failedNagReport({ nag: true, extra: (s) => new s3.Bucket(s, 'CarelessBucket') });
    assert.match(report, /AwsSolutions-S1/);
  });

  it('an ECR image for Lambda from another region is refused at synth time', () => {
    const app = new App();
    const data = new GalleryDataStack(app, 'd', { env: { region: 'eu-west-1' }, stage: 'test' });
    assert.throws(
      () => lambdaImageFromUri(data, 'R', '123456789012.dkr.ecr.us-east-1.amazonaws.com/enlarger:1', LAMBDA_COMMAND, 'eu-west-1'),
      /copy the image to ECR in eu-west-1/,
    );
  });
});
