/**
 * The synthesised ProcessingStack read as an AWS engineer would: the rule and its delivery
 * guarantees, least privilege, the protected origin, the health checks, nothing public.
 * node:test + aws-cdk-lib/assertions; cdk-nag AwsSolutions runs on the same app.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as vm from 'node:vm';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { NORMALISE_ACCEPT_SOURCE, STRIP_PREFIX_SOURCE } from '../lib/functions/normalise-accept';
import { ecrImageFromUri } from '../lib/image';
import { GalleryDataStack } from '../lib/stacks/gallery-data-stack';
import {
  defaultRenderWidths,
  findDockerDirectory,
  jobsForCpu,
  PROCESS_QUEUE_TIMEOUT_MS,
  ProcessingStack,
  ProcessingStackProps,
} from '../lib/stacks/processing-stack';
import { RENDER_VARIANT_TAG } from '../lib/gallery-parts';
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
  serviceVariantTag,
} from './support';

const DOMAIN = 'enlarger-origin.example.com';

type Built = BuiltStack<ProcessingStack>;

function build(
  opts: {
    nag?: boolean;
    image?: ecs.ContainerImage | 'default' | ((data: GalleryDataStack) => ecs.ContainerImage);
    outdir?: string;
    stage?: string;
    props?: Partial<ProcessingStackProps>;
    extra?: (s: ProcessingStack) => void;
  } = {},
): Built {
  const app = new App({ context: cdkJson.context, outdir: opts.outdir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-')) });
  // A concrete region (ALB access logs name the region's log-delivery principal), no account.
  const env = { region: 'eu-west-1' };
  const stage = opts.stage ?? 'test';
  const data = new GalleryDataStack(app, 'data', { env, stage });
  const zone = route53.HostedZone.fromHostedZoneAttributes(data, 'Zone', {
    hostedZoneId: 'Z0000000000EXAMPLE',
    zoneName: 'example.com',
  });
  const image =
    opts.image === 'default'
      ? undefined
      : typeof opts.image === 'function'
        ? opts.image(data)
        : (opts.image ?? ecs.ContainerImage.fromRegistry('example/enlarger:test'));
  const stack = new ProcessingStack(app, 'processing', {
    env,
    stage,
    originalsBucket: data.originalsBucket,
    photosTable: data.photosTable,
    originDomainName: DOMAIN,
    hostedZone: zone,
    image,
    ...opts.props,
  });
  return finishBuild(app, data, stack, opts);
}

const built = build();
const { t, res, stack } = built;

function only(type: string): [string, Res] {
  return onlyOne(res, type);
}
function logicalId(construct: any): string {
  return logicalIdIn(stack, construct);
}
/** The CloudFormation form of `{{resolve:secretsmanager:<secret>:SecretString:::}}`. */
function secretRef(secretLogicalId: string) {
  return { 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secretLogicalId }, ':SecretString:::}}']] };
}

describe('EventBridge: Object Created and Deleted in the originals bucket -> POST /process', () => {
  it('matches exactly S3 Object Created and Object Deleted events of the originals bucket', () => {
    const [, rule] = only('AWS::Events::Rule');
    const originalsName = built.data.resolve(built.data.originalsBucket.bucketName);
    assert.deepEqual(rule.Properties.EventPattern.source, ['aws.s3']);
    assert.deepEqual(rule.Properties.EventPattern['detail-type'], ['Object Created', 'Object Deleted']);
    assert.deepEqual(Object.keys(rule.Properties.EventPattern).sort(), ['detail', 'detail-type', 'source']);
    assert.deepEqual(Object.keys(rule.Properties.EventPattern.detail), ['bucket']);
    const names = rule.Properties.EventPattern.detail.bucket.name;
    assert.equal(names.length, 1);
    // Cross-stack: the data stack's bucket name, imported.
    assert.deepEqual(originalsName, { Ref: built.data.getLogicalId(built.data.originalsBucket.node.defaultChild as any) });
    assert.match(JSON.stringify(names[0]), /Fn::ImportValue.*Originals/);
  });

  it('targets the API destination with retries, max event age and the DLQ', () => {
    const [, rule] = only('AWS::Events::Rule');
    const [destId] = only('AWS::Events::ApiDestination');
    const [dlqId, dlq] = only('AWS::SQS::Queue');
    assert.equal(rule.Properties.Targets.length, 1);
    const target = rule.Properties.Targets[0];
    assert.deepEqual(target.Arn, { 'Fn::GetAtt': [destId, 'Arn'] });
    assert.deepEqual(target.RetryPolicy, { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 });
    assert.deepEqual(target.DeadLetterConfig, { Arn: { 'Fn::GetAtt': [dlqId, 'Arn'] } });
    assert.equal(target.Input, undefined, 'the whole event is the body');
    assert.equal(dlq.Properties.MessageRetentionPeriod, 14 * 24 * 3600);
    assert.equal(dlq.Properties.SqsManagedSseEnabled, true);
  });

  it('lets only this rule send to the DLQ, over TLS', () => {
    const [ruleId] = only('AWS::Events::Rule');
    const [dlqId] = only('AWS::SQS::Queue');
    const [, qp] = only('AWS::SQS::QueuePolicy');
    const st = qp.Properties.PolicyDocument.Statement;
    const allow = st.filter((s: any) => s.Effect === 'Allow');
    assert.equal(allow.length, 1);
    assert.deepEqual(allow[0].Principal, { Service: 'events.amazonaws.com' });
    assert.equal(allow[0].Action, 'sqs:SendMessage');
    assert.deepEqual(allow[0].Resource, { 'Fn::GetAtt': [dlqId, 'Arn'] });
    assert.deepEqual(allow[0].Condition, { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } });
    assert.ok(st.some((s: any) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false'));
  });

  it('alarms when anything reaches the DLQ', () => {
    const [dlqId] = only('AWS::SQS::Queue');
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
    });
  });

  it('calls https://<origin>/process with a rate limit and the API key from Secrets Manager', () => {
    const [connId, conn] = only('AWS::Events::Connection');
    const [, dest] = only('AWS::Events::ApiDestination');
    assert.equal(dest.Properties.InvocationEndpoint, `https://${DOMAIN}/process`);
    assert.equal(dest.Properties.HttpMethod, 'POST');
    assert.equal(dest.Properties.InvocationRateLimitPerSecond, 10);
    assert.deepEqual(dest.Properties.ConnectionArn, { 'Fn::GetAtt': [connId, 'Arn'] });
    assert.equal(conn.Properties.AuthorizationType, 'API_KEY');
    const keySecret = logicalId(stack.apiKeySecret);
    assert.deepEqual(conn.Properties.AuthParameters.ApiKeyAuthParameters, {
      ApiKeyName: 'x-api-key',
      ApiKeyValue: secretRef(keySecret),
    });
    // ... and the same secret reaches the service.
    const [, td] = only('AWS::ECS::TaskDefinition');
    const secrets = td.Properties.ContainerDefinitions[0].Secrets;
    assert.deepEqual(secrets.find((s: any) => s.Name === 'ENLARGER_PROCESS_API_KEY').ValueFrom, { Ref: keySecret });
  });

  it('turns on EventBridge notifications for the originals bucket', () => {
    const dataT = Template.fromStack(built.data);
    dataT.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
  });
});

describe('IAM: the task role can do exactly what the service does', () => {
  function taskRoleStatements(): { actions: string[]; resource: string }[] {
    const [, td] = only('AWS::ECS::TaskDefinition');
    const roleId = td.Properties.TaskRoleArn['Fn::GetAtt'][0];
    const role = res[roleId];
    assert.equal(role.Properties.ManagedPolicyArns, undefined, 'no managed policies');
    assert.equal(role.Properties.Policies, undefined, 'no inline policies besides the default one');
    const attached = Object.values(res).filter(
      (r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: any) => x.Ref === roleId),
    );
    assert.equal(attached.length, 1);
    const out: { actions: string[]; resource: string }[] = [];
    for (const s of attached[0].Properties.PolicyDocument.Statement) {
      assert.equal(s.Effect, 'Allow');
      assert.equal(s.Condition, undefined);
      const actions = ([] as string[]).concat(s.Action).sort();
      for (const r of ([] as any[]).concat(s.Resource)) {
        out.push({ actions, resource: JSON.stringify(r) });
      }
    }
    return out;
  }

  it('lists every action on every resource, and nothing else', () => {
    const objects = (id: string) => JSON.stringify({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [id, 'Arn'] }, '/*']] });
    const bucket = (id: string) => JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] });
    const got = taskRoleStatements()
      .map((s) => `${s.actions.join(',')} ${s.resource.replace(/"Fn::ImportValue":"data:ExportsOutputFnGetAtt(Originals|Photos)\w+"/, '"$1"')}`)
      .sort();
    const thumbs = logicalId(stack.thumbnailsBucket);
    const optimized = logicalId(stack.optimizedBucket);
    const renders = logicalId(stack.renderCacheBucket);
    const want = [
      `s3:GetObject {"Fn::Join":["",[{"Originals"},"/*"]]}`,
      `s3:ListBucket {"Originals"}`,
      `s3:DeleteObject,s3:PutObject ${objects(thumbs)}`,
      `s3:DeleteObject,s3:PutObject ${objects(optimized)}`,
      `s3:ListBucket ${bucket(thumbs)}`,
      `s3:ListBucket ${bucket(optimized)}`,
      `s3:DeleteObject,s3:GetObject,s3:PutObject,s3:PutObjectTagging ${objects(renders)}`,
      `s3:ListBucket ${bucket(renders)}`,
      `dynamodb:GetItem,dynamodb:UpdateItem {"Photos"}`,
      `cloudfront:CreateInvalidation ${JSON.stringify({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' },
          ':distribution/', { Ref: logicalId(stack.distribution) }]],
      })}`,
    ].sort();
    assert.deepEqual(got, want);
  });

  it('invalidates its own distribution only, and not at all with invalidateCdn false', () => {
    const envOf = (b: Built) => {
      const [, td] = Object.entries(b.res).find(([, r]) => r.Type === 'AWS::ECS::TaskDefinition')!;
      return Object.fromEntries(td.Properties.ContainerDefinitions[0].Environment.map((e: any) => [e.Name, e.Value]));
    };
    assert.deepEqual(envOf(built).ENLARGER_CDN_DISTRIBUTION_ID, { Ref: logicalId(stack.distribution) });
    const off = build({ props: { invalidateCdn: false } });
    assert.equal(envOf(off).ENLARGER_CDN_DISTRIBUTION_ID, undefined);
    assert.ok(!JSON.stringify(off.res).includes('cloudfront:CreateInvalidation'));
  });

  it('gives the execution role only its logs and the two secrets (registry image)', () => {
    const [, td] = only('AWS::ECS::TaskDefinition');
    const roleId = td.Properties.ExecutionRoleArn['Fn::GetAtt'][0];
    const policies = Object.values(res).filter(
      (r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: any) => x.Ref === roleId),
    );
    const actions = policies.flatMap((p) => p.Properties.PolicyDocument.Statement.flatMap((s: any) => [].concat(s.Action))).sort();
    // A registry image needs no ECR pull permissions; an asset image adds ECR (tested below).
    assert.deepEqual(actions, [
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
  });
});

describe('CloudFront and the origin', () => {
  const [, dist] = only('AWS::CloudFront::Distribution');
  const cfg = dist.Properties.DistributionConfig;
  const renderBehaviour = cfg.CacheBehaviors.find((b: any) => b.PathPattern === '/render/*');
  const renderOrigin = cfg.Origins.find((o: any) => o.Id === renderBehaviour.TargetOriginId);

  it('sends /render/* to the ALB over HTTPS with the secret origin header', () => {
    assert.equal(renderOrigin.DomainName, DOMAIN);
    assert.equal(renderOrigin.CustomOriginConfig.OriginProtocolPolicy, 'https-only');
    assert.deepEqual(renderOrigin.CustomOriginConfig.OriginSSLProtocols, ['TLSv1.2']);
    assert.equal(renderOrigin.CustomOriginConfig.OriginReadTimeout, 30);
    const originSecret = logicalId(stack.originSecret);
    assert.deepEqual(renderOrigin.OriginCustomHeaders, [{ HeaderName: 'x-origin-secret', HeaderValue: secretRef(originSecret) }]);
    const [, td] = only('AWS::ECS::TaskDefinition');
    const secrets = td.Properties.ContainerDefinitions[0].Secrets;
    assert.deepEqual(secrets.find((s: any) => s.Name === 'ENLARGER_ORIGIN_SECRET').ValueFrom, { Ref: originSecret });
    assert.deepEqual(renderBehaviour.AllowedMethods, ['GET', 'HEAD']);
    assert.equal(renderBehaviour.ViewerProtocolPolicy, 'redirect-to-https');
  });

  it('rotates both secrets without a window: tasks accept AWSPENDING and AWSCURRENT, then the senders switch', () => {
    const keyId = logicalId(stack.apiKeySecret);
    const originId = logicalId(stack.originSecret);
    // ECS's valueFrom with a version stage: <arn>:<json-key>:<version-stage>:<version-id>.
    const staged = (id: string, versionStage: string) => ({ 'Fn::Join': ['', [{ Ref: id }, `::${versionStage}:`]] });
    const pendingRef = (id: string) => ({
      'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: id }, ':SecretString::AWSPENDING:}}']],
    });
    const view = (b: Built) => {
      const [, td] = Object.entries(b.res).find(([, r]) => r.Type === 'AWS::ECS::TaskDefinition')!;
      const secrets = Object.fromEntries(
        td.Properties.ContainerDefinitions[0].Secrets.map((x: any) => [x.Name, x.ValueFrom]),
      );
      const [, conn] = Object.entries(b.res).find(([, r]) => r.Type === 'AWS::Events::Connection')!;
      const [, dist] = Object.entries(b.res).find(([, r]) => r.Type === 'AWS::CloudFront::Distribution')!;
      const headers = dist.Properties.DistributionConfig.Origins.flatMap((o: any) => o.OriginCustomHeaders ?? []);
      return {
        secrets,
        sentKey: conn.Properties.AuthParameters.ApiKeyAuthParameters.ApiKeyValue,
        sentOrigin: headers.find((h: any) => h.HeaderName === 'x-origin-secret').HeaderValue,
      };
    };
    // No rotation: AWSCURRENT everywhere, and no _PREVIOUS.
    assert.deepEqual(Object.keys(view(built).secrets).sort(), ['ENLARGER_ORIGIN_SECRET', 'ENLARGER_PROCESS_API_KEY']);
    const tasksAccept = {
      ENLARGER_PROCESS_API_KEY: staged(keyId, 'AWSPENDING'),
      ENLARGER_PROCESS_API_KEY_PREVIOUS: staged(keyId, 'AWSCURRENT'),
      ENLARGER_ORIGIN_SECRET: staged(originId, 'AWSPENDING'),
      ENLARGER_ORIGIN_SECRET_PREVIOUS: staged(originId, 'AWSCURRENT'),
    };
    const accept = view(build({ props: { secretRotation: 'accept' } }));
    assert.deepEqual(accept.secrets, tasksAccept);
    assert.deepEqual(accept.sentKey, secretRef(keyId));
    assert.deepEqual(accept.sentOrigin, secretRef(originId));
    const send = view(build({ props: { secretRotation: 'send' } }));
    assert.deepEqual(send.secrets, tasksAccept);
    assert.deepEqual(send.sentKey, pendingRef(keyId));
    assert.deepEqual(send.sentOrigin, pendingRef(originId));
  });

  it('keys the render cache on the normalised Accept and the render parameters only', () => {
    const [policyId, policy] = only('AWS::CloudFront::CachePolicy');
    assert.deepEqual(renderBehaviour.CachePolicyId, { Ref: policyId });
    const k = policy.Properties.CachePolicyConfig.ParametersInCacheKeyAndForwardedToOrigin;
    assert.deepEqual(k.HeadersConfig, { HeaderBehavior: 'whitelist', Headers: ['accept'] });
    assert.deepEqual(k.QueryStringsConfig.QueryStringBehavior, 'whitelist');
    assert.deepEqual([...k.QueryStringsConfig.QueryStrings].sort(), ['fit', 'fmt', 'h', 'q', 'sig', 'v', 'w']);
    assert.equal(k.CookiesConfig.CookieBehavior, 'none');
    const fnId = logicalId(stack.node.findChild('NormaliseAccept'));
    assert.deepEqual(renderBehaviour.FunctionAssociations, [
      { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [fnId, 'FunctionARN'] } },
    ]);
    assert.equal(res[fnId].Properties.FunctionCode, NORMALISE_ACCEPT_SOURCE);
    assert.equal(res[fnId].Properties.FunctionConfig.Runtime, 'cloudfront-js-2.0');
  });

  it('serves thumbnails and optimized through origin access control, and nothing else from S3', () => {
    const oacs = Object.entries(res).filter(([, r]) => r.Type === 'AWS::CloudFront::OriginAccessControl');
    const s3Origins = cfg.Origins.filter((o: any) => o.S3OriginConfig);
    assert.ok(s3Origins.length >= 2);
    const distId = logicalId(stack.distribution);
    for (const o of s3Origins) {
      assert.ok(o.OriginAccessControlId, 'S3 origin without OAC');
      assert.deepEqual(o.S3OriginConfig, { OriginAccessIdentity: '' });
      assert.ok(oacs.some(([id]) => JSON.stringify(o.OriginAccessControlId).includes(id)));
    }
    const served = new Set(s3Origins.map((o: any) => JSON.stringify(o.DomainName)));
    const regional = (b: s3.Bucket) => JSON.stringify({ 'Fn::GetAtt': [logicalId(b), 'RegionalDomainName'] });
    assert.deepEqual([...served].sort(), [regional(stack.optimizedBucket), regional(stack.thumbnailsBucket)].sort());
    for (const b of [stack.thumbnailsBucket, stack.optimizedBucket]) {
      const bp = Object.values(res).find(
        (r) => r.Type === 'AWS::S3::BucketPolicy' && JSON.stringify(r.Properties.Bucket) === JSON.stringify({ Ref: logicalId(b) }),
      )!;
      const allow = bp.Properties.PolicyDocument.Statement.filter((s: any) => s.Effect === 'Allow');
      const cf = allow.filter((s: any) => s.Principal.Service === 'cloudfront.amazonaws.com');
      assert.equal(cf.length, 1);
      // Besides CloudFront, only the auto-delete custom resource (outside prod).
      for (const other of allow.filter((s: any) => s !== cf[0])) {
        assert.match(JSON.stringify(other.Principal), /CustomS3AutoDeleteObjectsCustomResourceProviderRole/);
      }
      assert.deepEqual(cf[0].Principal, { Service: 'cloudfront.amazonaws.com' });
      assert.equal(cf[0].Action, 's3:GetObject');
      assert.match(JSON.stringify(cf[0].Condition), new RegExp(`AWS:SourceArn.*${distId}`));
    }
    for (const p of ['/thumbnails/*', '/optimized/*']) {
      const b = cfg.CacheBehaviors.find((x: any) => x.PathPattern === p);
      assert.ok(b, p);
      assert.deepEqual(b.AllowedMethods, ['GET', 'HEAD']);
    }
  });

  it('adds HSTS and nosniff to every behaviour, and CORS only for the gallery\'s origins', () => {
    const [policyId, policy] = only('AWS::CloudFront::ResponseHeadersPolicy');
    const c = policy.Properties.ResponseHeadersPolicyConfig;
    assert.deepEqual(c.SecurityHeadersConfig, {
      ContentTypeOptions: { Override: true },
      StrictTransportSecurity: { AccessControlMaxAgeSec: 63072000, IncludeSubdomains: true, Override: true },
    });
    assert.equal(c.CorsConfig, undefined, 'no CORS without corsAllowedOrigins');
    const behaviours = [cfg.DefaultCacheBehavior, ...cfg.CacheBehaviors];
    assert.equal(behaviours.length, 4);
    for (const b of behaviours) assert.deepEqual(b.ResponseHeadersPolicyId, { Ref: policyId }, b.PathPattern ?? 'default');

    const origins = ['https://gallery.example.com', 'https://www.gallery.example.com'];
    const withCors = build({ props: { corsAllowedOrigins: origins } });
    const [, p2] = Object.entries(withCors.res).find(([, r]) => r.Type === 'AWS::CloudFront::ResponseHeadersPolicy')!;
    const cors = p2.Properties.ResponseHeadersPolicyConfig.CorsConfig;
    assert.deepEqual(cors.AccessControlAllowOrigins, { Items: origins });
    assert.deepEqual(cors.AccessControlAllowMethods, { Items: ['GET', 'HEAD'] });
    assert.equal(cors.AccessControlAllowCredentials, false);
    assert.equal(cors.OriginOverride, true);
  });

  it('outputs the distribution id (for invalidations) next to its domain name', () => {
    const outputs = t.toJSON().Outputs;
    assert.deepEqual(outputs.DistributionId.Value, { Ref: logicalId(stack.distribution) });
    assert.deepEqual(outputs.DistributionDomainName.Value, { 'Fn::GetAtt': [logicalId(stack.distribution), 'DomainName'] });
  });

  it('normalises Accept into avif, webp or other (and one entry for explicit formats)', () => {
    const handler = vm.runInNewContext(`${NORMALISE_ACCEPT_SOURCE}; handler`);
    const run = (accept: string | undefined, qs: Record<string, string> = {}) => {
      const headers: any = accept === undefined ? {} : { accept: { value: accept } };
      const querystring: any = Object.fromEntries(Object.entries(qs).map(([k, v]) => [k, { value: v }]));
      return handler({ request: { uri: '/render/a.jpg', headers, querystring } }).headers.accept.value;
    };
    const chrome = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';
    assert.equal(run(chrome), 'image/avif,image/webp');
    assert.equal(run(chrome, { fmt: 'auto', w: '400' }), 'image/avif,image/webp');
    assert.equal(run('image/webp,*/*'), 'image/webp');
    assert.equal(run('IMAGE/WEBP'), 'image/webp');
    assert.equal(run('image/png,image/*;q=0.8,*/*;q=0.5'), 'image/jpeg');
    assert.equal(run('*/*'), 'image/jpeg');
    assert.equal(run(undefined), 'image/jpeg');
    assert.equal(run(chrome, { fmt: 'webp' }), '*/*');
    assert.equal(run('image/webp', { fmt: 'jpeg' }), '*/*');
    const strip = vm.runInNewContext(`${STRIP_PREFIX_SOURCE}; handler`);
    assert.equal(strip({ request: { uri: '/thumbnails/p1/abc/thumb.webp' } }).uri, '/p1/abc/thumb.webp');
    assert.equal(strip({ request: { uri: '/optimized/p1/abc/optimized.jpg' } }).uri, '/p1/abc/optimized.jpg');
    assert.equal(strip({ request: { uri: '/p1/thumbnails/x' } }).uri, '/p1/thumbnails/x');
  });
});

describe('ALB, health checks and the service', () => {
  it('checks liveness (/healthz) from the ALB and in the task, never /readyz', () => {
    // /readyz fails while S3 or DynamoDB does; as the ALB's check it would get every task
    // replaced during a short outage of either.
    assert.doesNotMatch(JSON.stringify(t.toJSON()), /readyz/);
    const [, tg] = only('AWS::ElasticLoadBalancingV2::TargetGroup');
    assert.equal(tg.Properties.HealthCheckPath, '/healthz');
    assert.equal(tg.Properties.HealthCheckProtocol, 'HTTP');
    assert.deepEqual(tg.Properties.Matcher, { HttpCode: '200' });
    assert.equal(tg.Properties.Port, 8080);
    assert.equal(tg.Properties.TargetType, 'ip');
    const [, td] = only('AWS::ECS::TaskDefinition');
    const c = td.Properties.ContainerDefinitions[0];
    assert.deepEqual(c.HealthCheck.Command, ['CMD', 'curl', '-fsS', '-o', '/dev/null', 'http://127.0.0.1:8080/healthz']);
  });

  it('listens on HTTPS only and forwards only POST /process and GET /render/*', () => {
    const listeners = Object.values(res).filter((r) => r.Type === 'AWS::ElasticLoadBalancingV2::Listener');
    assert.equal(listeners.length, 1);
    const l = listeners[0].Properties;
    assert.equal(l.Protocol, 'HTTPS');
    assert.equal(l.Port, 443);
    assert.equal(l.DefaultActions[0].Type, 'fixed-response');
    assert.equal(l.DefaultActions[0].FixedResponseConfig.StatusCode, '404');
    const rules = Object.values(res)
      .filter((r) => r.Type === 'AWS::ElasticLoadBalancingV2::ListenerRule')
      .map((r) => ({
        path: r.Properties.Conditions.find((c: any) => c.Field === 'path-pattern').PathPatternConfig.Values,
        methods: r.Properties.Conditions.find((c: any) => c.Field === 'http-request-method').HttpRequestMethodConfig.Values,
        action: r.Properties.Actions[0].Type,
      }))
      .sort((a, b) => a.path[0].localeCompare(b.path[0]));
    assert.deepEqual(rules, [
      { path: ['/process'], methods: ['POST'], action: 'forward' },
      { path: ['/render/*'], methods: ['GET', 'HEAD'], action: 'forward' },
    ]);
    const [, lb] = only('AWS::ElasticLoadBalancingV2::LoadBalancer');
    assert.equal(lb.Properties.Scheme, 'internet-facing');
    const attrs = Object.fromEntries(lb.Properties.LoadBalancerAttributes.map((a: any) => [a.Key, a.Value]));
    assert.equal(attrs['routing.http.drop_invalid_header_fields.enabled'], 'true');
    assert.equal(attrs['access_logs.s3.enabled'], 'true');
    assert.equal(attrs['idle_timeout.timeout_seconds'], '35');
  });

  it('runs ARM64, 1 vCPU / 2 GB, non-root, read-only root, in private subnets', () => {
    const [, td] = only('AWS::ECS::TaskDefinition');
    assert.equal(td.Properties.Cpu, '1024');
    assert.equal(td.Properties.Memory, '2048');
    assert.deepEqual(td.Properties.RuntimePlatform, { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' });
    const c = td.Properties.ContainerDefinitions[0];
    assert.equal(c.User, '10001:10001');
    assert.equal(c.ReadonlyRootFilesystem, true);
    const env = Object.fromEntries(c.Environment.map((e: any) => [e.Name, e.Value]));
    assert.equal(env.ENLARGER_BACKEND, 'aws');
    assert.equal(env.ENLARGER_LISTEN, '0.0.0.0:8080');
    assert.equal(env.ENLARGER_TABLE_KEY, 'photoId');
    for (const k of ['AWS_REGION', 'ENLARGER_ORIGINALS_BUCKET', 'ENLARGER_THUMBNAILS_BUCKET', 'ENLARGER_OPTIMIZED_BUCKET', 'ENLARGER_RENDER_BUCKET', 'ENLARGER_TABLE']) {
      assert.ok(env[k], k);
    }
    assert.ok(!JSON.stringify(c.Environment).match(/SECRET|API_KEY/), 'no secret in plain environment');
    assert.ok(c.LogConfiguration.LogDriver === 'awslogs');
    const [, svc] = only('AWS::ECS::Service');
    assert.equal(svc.Properties.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp, 'DISABLED');
    assert.equal(svc.Properties.DeploymentConfiguration.DeploymentCircuitBreaker.Rollback, true);
  });

  it('scales on CPU (tracking, and a step on one saturated minute) and on ALB requests per target', () => {
    const policies = Object.entries(res).filter(([, r]) => r.Type === 'AWS::ApplicationAutoScaling::ScalingPolicy');
    const tracking = policies
      .filter(([, r]) => r.Properties.PolicyType === 'TargetTrackingScaling')
      .map(([, r]) => r.Properties.TargetTrackingScalingPolicyConfiguration)
      .map((c) => `${c.PredefinedMetricSpecification.PredefinedMetricType} ${c.TargetValue}`)
      .sort();
    assert.deepEqual(tracking, ['ALBRequestCountPerTarget 600', 'ECSServiceAverageCPUUtilization 60']);
    const steps = policies.filter(([, r]) => r.Properties.PolicyType === 'StepScaling');
    assert.equal(steps.length, 1);
    const [stepId, step] = steps[0];
    assert.deepEqual(step.Properties.StepScalingPolicyConfiguration.StepAdjustments, [
      { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 10, ScalingAdjustment: 1 },
      { MetricIntervalLowerBound: 10, ScalingAdjustment: 2 },
    ]);
    assert.equal(step.Properties.StepScalingPolicyConfiguration.Cooldown, 60);
    // The alarm that triggers it: ECS CPU of this service, one 1-minute datapoint at 85 %.
    const trigger = Object.values(res).filter(
      (r) => r.Type === 'AWS::CloudWatch::Alarm' && JSON.stringify(r.Properties.AlarmActions) === JSON.stringify([{ Ref: stepId }]),
    );
    assert.equal(trigger.length, 1);
    const a = trigger[0].Properties;
    assert.deepEqual([a.Namespace, a.MetricName, a.Statistic, a.Period, a.EvaluationPeriods, a.Threshold, a.ComparisonOperator], [
      'AWS/ECS', 'CPUUtilization', 'Average', 60, 1, 85, 'GreaterThanOrEqualToThreshold',
    ]);
    assert.deepEqual(a.Dimensions.map((d: any) => d.Name).sort(), ['ClusterName', 'ServiceName']);
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 1, MaxCapacity: 10 });
  });

  it('sets the width list: the service\'s default from include/enlarger/defaults.h, or renderWidths', () => {
    const widths = (b: Built) => {
      const td = Object.values(b.res).find((r) => r.Type === 'AWS::ECS::TaskDefinition')!;
      const env = td.Properties.ContainerDefinitions[0].Environment;
      return env.find((e: any) => e.Name === 'ENLARGER_RENDER_WIDTHS')?.Value;
    };
    const header = fs.readFileSync(path.join(infraDir, '..', 'include', 'enlarger', 'defaults.h'), 'utf8');
    const m = /#define ENL_DEFAULT_RENDER_WIDTHS "([0-9,]+)"/.exec(header);
    assert.ok(m);
    assert.equal(widths(built), m![1]);
    assert.deepEqual(defaultRenderWidths(path.join(infraDir, '..')).slice(0, 2), [64, 128]);
    assert.equal(widths(build({ props: { renderWidths: [320, 640, 1280] } })), '320,640,1280');
  });

  it('signs /render URLs only when asked: a generated key, for the service and the gallery', () => {
    assert.equal(stack.renderSigningKey, undefined);
    const signed = build({ props: { signRenderUrls: true } });
    const td = Object.values(signed.res).find((r) => r.Type === 'AWS::ECS::TaskDefinition')!;
    const c = td.Properties.ContainerDefinitions[0];
    const keyId = signed.stack.getLogicalId(signed.stack.renderSigningKey!.node.defaultChild as any);
    assert.deepEqual(c.Secrets.find((x: any) => x.Name === 'ENLARGER_RENDER_SIGNING_KEY').ValueFrom, { Ref: keyId });
    assert.equal(signed.res[keyId].Properties.GenerateSecretString.PasswordLength, 48);
    assert.ok(!JSON.stringify(c.Environment).includes('SIGNING'), 'never in the plain environment');
    assert.deepEqual(signed.t.toJSON().Outputs.RenderSigningKeySecretArn.Value, { Ref: keyId });
  });

  it('sets ENLARGER_JOBS from the task\'s vCPUs (cores + 1, the service\'s own rule)', () => {
    const envOf = (b: Built) => {
      const [, td] = Object.entries(b.res).find(([, r]) => r.Type === 'AWS::ECS::TaskDefinition')!;
      return Object.fromEntries(td.Properties.ContainerDefinitions[0].Environment.map((e: any) => [e.Name, e.Value]));
    };
    assert.equal(envOf(built).ENLARGER_JOBS, '2');
    assert.equal(envOf(build({ props: { cpu: 2048, memoryLimitMiB: 4096 } })).ENLARGER_JOBS, '3');
    assert.deepEqual([256, 512, 1024, 2048, 4096, 8192].map(jobsForCpu), [2, 2, 2, 3, 5, 9]);
  });

  it('bounds an event\'s wait for a job slot inside EventBridge\'s 5 s', () => {
    const [, td] = Object.entries(res).find(([, r]) => r.Type === 'AWS::ECS::TaskDefinition')!;
    const env = Object.fromEntries(td.Properties.ContainerDefinitions[0].Environment.map((e: any) => [e.Name, e.Value]));
    assert.equal(env.ENLARGER_PROCESS_QUEUE_TIMEOUT_MS, '3000');
    assert.equal(PROCESS_QUEUE_TIMEOUT_MS, 3000);
    // The render's own wait is the service's default: a CloudFront origin waits longer.
    assert.equal(env.ENLARGER_QUEUE_TIMEOUT_MS, undefined);
  });
});

describe('storage and logs', () => {
  it('makes every bucket private, encrypted and TLS-only', () => {
    const buckets = Object.entries(res).filter(([, r]) => r.Type === 'AWS::S3::Bucket');
    assert.equal(buckets.length, 4); // thumbnails, optimized, render cache, access logs
    for (const [id, b] of buckets) {
      assert.deepEqual(b.Properties.PublicAccessBlockConfiguration, {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      }, id);
      assert.ok(b.Properties.BucketEncryption, id);
      assert.equal(b.Properties.WebsiteConfiguration, undefined);
      const bp = Object.values(res).find(
        (r) => r.Type === 'AWS::S3::BucketPolicy' && JSON.stringify(r.Properties.Bucket) === JSON.stringify({ Ref: id }),
      );
      assert.ok(bp, `${id} has a bucket policy`);
      assert.ok(
        bp!.Properties.PolicyDocument.Statement.some(
          (s: any) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
        ),
        `${id} denies plain HTTP`,
      );
      for (const s of bp!.Properties.PolicyDocument.Statement.filter((x: any) => x.Effect === 'Allow')) {
        assert.notDeepEqual(s.Principal, { AWS: '*' }, `${id} allows everyone`);
        assert.notEqual(s.Principal, '*');
      }
    }
  });

  it('empties and deletes its buckets with the stack outside prod, and keeps them in prod', () => {
    const buckets = Object.entries(res).filter(([, r]) => r.Type === 'AWS::S3::Bucket');
    const autoDeleted = Object.values(res)
      .filter((r) => r.Type === 'Custom::S3AutoDeleteObjects')
      .map((r) => r.Properties.BucketName.Ref)
      .sort();
    assert.deepEqual(autoDeleted, buckets.map(([id]) => id).sort());
    for (const [id, b] of buckets) assert.equal(b.DeletionPolicy, 'Delete', id);
    const prod = build({ stage: 'prod' });
    assert.equal(Object.values(prod.res).filter((r) => r.Type === 'Custom::S3AutoDeleteObjects').length, 0);
    for (const [id, b] of Object.entries(prod.res).filter(([, r]) => r.Type === 'AWS::S3::Bucket')) {
      assert.equal(b.DeletionPolicy, 'Retain', id);
    }
  });

  it('expires rendered variants only: those tagged as the service tags them', () => {
    assertRenderLifecycle(res[logicalId(stack.renderCacheBucket)], 30);
    const week = build({ props: { renderCacheExpirationDays: 7 } });
    assertRenderLifecycle(week.res[logicalIdIn(week.stack, week.stack.renderCacheBucket)], 7);
    assert.deepEqual(RENDER_VARIANT_TAG, serviceVariantTag());
  });

  it('sets a retention on every log group', () => {
    const groups = Object.values(res).filter((r) => r.Type === 'AWS::Logs::LogGroup');
    assert.ok(groups.length >= 2);
    for (const g of groups) assert.equal(g.Properties.RetentionInDays, 30);
  });
});

describe('cdk-nag AwsSolutions', () => {
  const failedNagReport = (opts: Parameters<typeof build>[0]): string => nagFailureReport(() => build(opts));
  const passes = (b: Built) => assertNagPasses(b.app);

  it('passes on the whole app (every finding fixed or acknowledged with a reason)', () => {
    passes(build({ nag: true }));
  });

  it('passes with the image built from docker/Dockerfile (the documented deploy) and in prod', () => {
    // The asset image adds ecr:GetAuthorizationToken on "*" to the execution role: the one
    // IAM5 finding acknowledged there, and only for that action.
    passes(build({ nag: true, image: 'default' }));
    passes(build({ nag: true, image: 'default', stage: 'prod', props: { corsAllowedOrigins: ['https://gallery.example.com'] } }));
    passes(build({ nag: true, props: { signRenderUrls: true } }));
  });

  it('still fails when the execution role gets any other action on "*"', () => {
    const report = failedNagReport({
      nag: true,
      image: 'default',
      extra: (s) =>
        s.service.taskDefinition.addToExecutionRolePolicy(
          new iam.PolicyStatement({ actions: ['ecr:DescribeRepositories'], resources: ['*'] }),
        ),
    });
    assert.match(report, /AwsSolutions-IAM5/);
    assert.match(report, /ExecutionRole/);
  });

  it('fails the synth on an unacknowledged finding (the check can fail)', () => {
    const report = failedNagReport({ nag: true, extra: (s) => new s3.Bucket(s, 'CarelessBucket') }); // no logs, no TLS-only policy
    assert.match(report, /AwsSolutions-S1/);
    assert.match(report, /CarelessBucket/);
  });
});

describe('cdk.json', () => {
  it('keeps the CLI off the network during synth: no notices fetch, no telemetry', () => {
    // docs/deploy.md's synth commands run without an AWS account, and CI runs them as written.
    assert.equal(cdkJson.notices, false);
    assert.equal(cdkJson.context['cli-telemetry'], false);
  });
});

describe('the default image asset', () => {
  it('builds docker/Dockerfile for linux/arm64 from a context that is only the sources', () => {
    const b = build({ image: 'default' });
    const { app } = b;
    const asm = app.synth();
    const manifest = JSON.parse(
      fs.readFileSync(path.join(asm.directory, fs.readdirSync(asm.directory).find((f) => f.startsWith('processing.assets'))!), 'utf8'),
    );
    const images = Object.values(manifest.dockerImages ?? {}) as any[];
    assert.equal(images.length, 1);
    assert.equal(images[0].source.dockerFile, 'docker/Dockerfile');
    assert.equal(images[0].source.platform, 'linux/arm64');
    const ctx = path.join(asm.directory, images[0].source.directory);
    assert.deepEqual(fs.readdirSync(ctx).sort(), ['.dockerignore', 'CMakeLists.txt', 'docker', 'include', 'scripts', 'src']);
    assert.deepEqual(fs.readdirSync(path.join(ctx, 'scripts')), ['install-deps.sh']);
    assert.deepEqual(fs.readdirSync(path.join(ctx, 'docker')), ['Dockerfile']);
    // ... and the execution role can pull it: the image actions on the asset repository only,
    // the token (which IAM grants on "*" only) besides.
    const [, td] = Object.entries(b.res).find(([, r]) => r.Type === 'AWS::ECS::TaskDefinition')!;
    const roleId = td.Properties.ExecutionRoleArn['Fn::GetAtt'][0];
    const onStar = Object.values(b.res)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: any) => x.Ref === roleId))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((st: any) => JSON.stringify(st.Resource).includes('"*"') || st.Resource === '*');
    assert.deepEqual(onStar.map((st: any) => st.Action), ['ecr:GetAuthorizationToken']);
  });

  it('takes the build context from dockerDirectory (the gallery vendors this repository elsewhere)', () => {
    const repo = path.resolve(infraDir, '..');
    assert.equal(findDockerDirectory(undefined, path.join(repo, 'infrastructure', 'lib', 'stacks')), repo);
    assert.equal(findDockerDirectory(undefined, path.join(repo, 'infrastructure', 'dist', 'lib', 'stacks')), repo);
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'vendored-'));
    fs.mkdirSync(path.join(elsewhere, 'docker'));
    fs.writeFileSync(path.join(elsewhere, 'docker', 'Dockerfile'), 'FROM scratch\n');
    fs.writeFileSync(path.join(elsewhere, 'marker.txt'), 'vendored\n');
    assert.equal(findDockerDirectory(elsewhere), elsewhere);
    assert.throws(() => findDockerDirectory(os.tmpdir()), /has no docker\/Dockerfile/);
    const { app } = build({ image: 'default', props: { dockerDirectory: elsewhere } });
    const asm = app.synth();
    const manifest = JSON.parse(
      fs.readFileSync(path.join(asm.directory, fs.readdirSync(asm.directory).find((f) => f.startsWith('processing.assets'))!), 'utf8'),
    );
    const images = Object.values(manifest.dockerImages ?? {}) as any[];
    assert.equal(images.length, 1);
    const ctx = path.join(asm.directory, images[0].source.directory);
    assert.deepEqual(fs.readdirSync(ctx).sort(), ['docker', 'marker.txt']);
  });

  it('pulls a prebuilt image from its ECR repository only, and refuses images the tasks cannot reach', () => {
    const uri = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/enlarger:1.0.0';
    const b = build({ nag: true, image: (data) => ecrImageFromUri(data, 'Repo', uri, 'eu-west-1') });
    const [, td] = Object.entries(b.res).find(([, r]) => r.Type === 'AWS::ECS::TaskDefinition')!;
    assert.match(JSON.stringify(td.Properties.ContainerDefinitions[0].Image), /123456789012\.dkr\.ecr\.eu-west-1\..*team\/enlarger:1\.0\.0/);
    const roleId = td.Properties.ExecutionRoleArn['Fn::GetAtt'][0];
    const statements = Object.values(b.res)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: any) => x.Ref === roleId))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    const ecrStatements = statements.filter((st: any) => [].concat(st.Action).some((a: string) => a.startsWith('ecr:')));
    assert.deepEqual(
      ecrStatements.map((st: any) => `${[].concat(st.Action).sort().join(',')} ${JSON.stringify(st.Resource)}`).sort(),
      [
        `ecr:BatchCheckLayerAvailability,ecr:BatchGetImage,ecr:GetDownloadUrlForLayer {"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":ecr:eu-west-1:123456789012:repository/team/enlarger"]]}`,
        'ecr:GetAuthorizationToken "*"',
      ],
    );
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.doesNotThrow(() => ecrImageFromUri(new Stack(), 'R', `123456789012.dkr.ecr.eu-west-1.amazonaws.com/enlarger@${digest}`));
    for (const bad of ['public.ecr.aws/example/enlarger:ci', 'enlarger:1.0', 'docker.io/library/debian:12', '123456789012.dkr.ecr.eu-west-1.amazonaws.com/enlarger']) {
      assert.throws(() => ecrImageFromUri(new Stack(), 'R', bad), /imageUri must be/, bad);
    }
    assert.throws(() => ecrImageFromUri(new Stack(), 'R', uri, 'us-east-1'), /copy the image to ECR in us-east-1/);
  });
});

describe('network: no NAT gateway, VPC endpoints', () => {
  it('has no NAT gateway and no route to the internet from the tasks', () => {
    assert.equal(Object.values(res).filter((r) => r.Type === 'AWS::EC2::NatGateway').length, 0);
    assert.equal(Object.values(res).filter((r) => r.Type === 'AWS::EC2::EIP').length, 0);
    const [, svc] = only('AWS::ECS::Service');
    const taskSubnets = svc.Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets.map((x: any) => x.Ref);
    assert.equal(taskSubnets.length, 2);
    for (const subnet of taskSubnets) {
      const assoc = Object.values(res).find(
        (r) => r.Type === 'AWS::EC2::SubnetRouteTableAssociation' && r.Properties.SubnetId.Ref === subnet,
      )!;
      const routes = Object.values(res).filter(
        (r) => r.Type === 'AWS::EC2::Route' && r.Properties.RouteTableId.Ref === assoc.Properties.RouteTableId.Ref,
      );
      assert.deepEqual(routes, [], `routes out of task subnet ${subnet}`);
    }
  });

  const endpoints = (r: Record<string, Res>) =>
    Object.values(r)
      .filter((x) => x.Type === 'AWS::EC2::VPCEndpoint')
      .map((x) => ({
        // 'com.amazonaws.<region>.ecr.api', or a Fn::Join ending in '.s3'
        service:
          typeof x.Properties.ServiceName === 'string'
            ? x.Properties.ServiceName.split('.').slice(3).join('.')
            : x.Properties.ServiceName['Fn::Join'][1].at(-1).replace(/^\./, ''),
        type: x.Properties.VpcEndpointType,
        subnets: (x.Properties.SubnetIds ?? []).length,
        sgs: x.Properties.SecurityGroupIds,
      }))
      .sort((a, b) => a.service.localeCompare(b.service));

  it('reaches S3 and DynamoDB through gateway endpoints, ECR, logs and Secrets Manager through interface endpoints', () => {
    const got = endpoints(res);
    assert.deepEqual(
      got.map((e) => `${e.service} ${e.type} ${e.subnets}`),
      ['dynamodb Gateway 0', 'ecr.api Interface 1', 'ecr.dkr Interface 1', 'logs Interface 1', 's3 Gateway 0', 'secretsmanager Interface 1'],
    );
    // One security group on the interface endpoints, open on 443 to the tasks' group only.
    const sgIds = new Set(got.filter((e) => e.type === 'Interface').map((e) => JSON.stringify(e.sgs)));
    assert.equal(sgIds.size, 1);
    const [sgRef] = JSON.parse([...sgIds][0]);
    const sg = res[sgRef['Fn::GetAtt'][0]];
    assert.equal(sg.Properties.SecurityGroupIngress, undefined);
    const ingress = Object.values(res).filter(
      (r) => r.Type === 'AWS::EC2::SecurityGroupIngress' && r.Properties.GroupId['Fn::GetAtt']?.[0] === sgRef['Fn::GetAtt'][0],
    );
    assert.equal(ingress.length, 1);
    const [, svc] = only('AWS::ECS::Service');
    const taskSg = svc.Properties.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups[0];
    assert.deepEqual(ingress[0].Properties.SourceSecurityGroupId, taskSg);
    assert.deepEqual([ingress[0].Properties.FromPort, ingress[0].Properties.ToPort], [443, 443]);
  });

  it('puts the interface endpoints in both zones in prod', () => {
    const prod = build({ stage: 'prod' });
    assert.deepEqual(
      endpoints(prod.res).filter((e) => e.type === 'Interface').map((e) => e.subnets),
      [2, 2, 2, 2],
    );
  });
});

describe('alarms', () => {
  const [topicId] = only('AWS::SNS::Topic');
  const notifying = Object.entries(res).filter(
    ([, r]) => r.Type === 'AWS::CloudWatch::Alarm' && JSON.stringify(r.Properties.AlarmActions) === JSON.stringify([{ Ref: topicId }]),
  );
  const byMetric = (name: string) => {
    const found = notifying.filter(
      ([, r]) => r.Properties.MetricName === name || (r.Properties.Metrics ?? []).some((m: any) => m.MetricStat?.Metric.MetricName === name),
    );
    assert.equal(found.length, 1, `one alarm on ${name}`);
    return found[0][1].Properties;
  };

  it('sends every operational alarm to one SNS topic (TLS-only), and outputs it', () => {
    assert.equal(notifying.length, 6);
    assert.equal(stack.alarms.length, 6);
    const [, policy] = only('AWS::SNS::TopicPolicy');
    assert.ok(
      policy.Properties.PolicyDocument.Statement.some(
        (s: any) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
      ),
    );
    assert.deepEqual(t.toJSON().Outputs.AlarmTopicArn.Value, { Ref: topicId });
  });

  it('alarms on the rule: FailedInvocations and InvocationsFailedToBeSentToDlq, and on the DLQ depth', () => {
    const [ruleId] = only('AWS::Events::Rule');
    for (const name of ['FailedInvocations', 'InvocationsFailedToBeSentToDlq']) {
      const a = byMetric(name);
      assert.equal(a.Namespace, 'AWS/Events');
      assert.deepEqual(a.Dimensions, [{ Name: 'RuleName', Value: { Ref: ruleId } }]);
      assert.deepEqual([a.Statistic, a.Threshold, a.ComparisonOperator], ['Sum', 1, 'GreaterThanOrEqualToThreshold']);
    }
    const dlq = byMetric('ApproximateNumberOfMessagesVisible');
    assert.equal(dlq.Namespace, 'AWS/SQS');
  });

  it('alarms on the target group: 5xx share, unhealthy hosts, p99 response time above 4 s', () => {
    const [tgId] = only('AWS::ElasticLoadBalancingV2::TargetGroup');
    const fiveXx = byMetric('HTTPCode_Target_5XX_Count');
    const expr = fiveXx.Metrics.find((m: any) => m.Expression);
    assert.match(expr.Expression, /100 \* FILL\(errors, 0\) \/ requests/);
    assert.deepEqual([fiveXx.Threshold, fiveXx.ComparisonOperator], [5, 'GreaterThanThreshold']);
    assert.ok(fiveXx.Metrics.some((m: any) => m.MetricStat?.Metric.MetricName === 'RequestCount'));
    const unhealthy = byMetric('UnHealthyHostCount');
    assert.deepEqual([unhealthy.Statistic, unhealthy.Threshold], ['Maximum', 1]);
    const p99 = byMetric('TargetResponseTime');
    assert.deepEqual([p99.ExtendedStatistic, p99.Threshold, p99.ComparisonOperator], ['p99', 4, 'GreaterThanThreshold']);
    for (const a of [fiveXx.Metrics.find((m: any) => m.MetricStat).MetricStat.Metric, unhealthy, p99]) {
      assert.deepEqual(
        a.Dimensions.find((d: any) => d.Name === 'TargetGroup').Value,
        { 'Fn::GetAtt': [tgId, 'TargetGroupFullName'] },
      );
    }
  });

  it('uses the gallery\'s topic when given one, and subscribes e-mail addresses', () => {
    const own = build({
      props: { alarmEmails: ['ops@example.com'] },
      extra: () => undefined,
    });
    const subs = Object.values(own.res).filter((r) => r.Type === 'AWS::SNS::Subscription');
    assert.deepEqual(subs.map((s) => [s.Properties.Protocol, s.Properties.Endpoint]), [['email', 'ops@example.com']]);
    const given = build({
      extra: () => undefined,
      props: {
        alarmTopic: sns.Topic.fromTopicArn(new Stack(new App(), 'elsewhere'), 'T', 'arn:aws:sns:eu-west-1:123456789012:ops'),
      },
    });
    assert.equal(Object.values(given.res).filter((r) => r.Type === 'AWS::SNS::Topic').length, 0);
    const actions = Object.values(given.res)
      .filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && !/scaling alarm/.test(r.Properties.AlarmDescription))
      .map((r) => JSON.stringify(r.Properties.AlarmActions));
    assert.equal(actions.length, 6);
    assert.deepEqual([...new Set(actions)], ['["arn:aws:sns:eu-west-1:123456789012:ops"]']);
  });
});
