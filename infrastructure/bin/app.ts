#!/usr/bin/env node
/**
 * Deploys enlarger on its own: `npx cdk deploy --all -c stage=dev -c ...`, as the
 * ProcessingStack (Fargate, mode fargate) or the ServerlessStack (one Lambda function, mode
 * serverless). The gallery's own app instead passes its storage stack's bucket and database
 * stack's table.
 *
 * Context (cdk.json or -c key=value):
 *   stage               dev | prod (prod retains buckets and logs)            default dev
 *   mode                fargate | serverless (docs/deploy.md, "Choosing")     default fargate
 *   originDomainName    public DNS name for the ALB (EventBridge needs HTTPS)  required (fargate)
 *   hostedZoneId,       Route 53 zone for originDomainName: alias record and
 *   hostedZoneName      DNS-validated certificate
 *   certificateArn      an existing ACM certificate instead (then no alias record: add a CNAME
 *                       from originDomainName to the AlbDnsName output)
 *   originalsBucketName import the gallery's originals bucket               default: stand-in
 *   photosTableName     import the gallery's photos table                   default: stand-in
 *   photosTableKey      partition key attribute                             default photoId
 *   imageUri            a prebuilt image in ECR of the stack's region
 *                       (<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>) instead of
 *                       building docker/Dockerfile; the tasks have no route to other registries
 *                       (serverless: the function's image, whose command is set to `lambda`)
 *   memorySize          serverless: the function's memory in MiB              default 1769
 *   reservedConcurrency serverless: concurrent invocations reserved (a cap)   default none
 *   alarmTopicArn       an existing SNS topic for the alarms                default: one created
 *   alarmEmail          comma-separated e-mail addresses subscribed to the alarm topic
 *   corsAllowedOrigins  comma-separated web origins of the gallery allowed by CORS
 *   secretRotation      accept | send: a rotation of both secrets in progress
 *                       (docs/deploy.md, "Secrets and their rotation")      default: none
 *   invalidateCdn       false: no CloudFront invalidation after a delete or replacement
 *                       (fargate mode; the serverless stack does not invalidate)
 *                       (docs/deploy.md, "CDN invalidation")                  default true
 *   account, region     target environment (defaults: CDK_DEFAULT_ACCOUNT/REGION)
 */
import { App, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ecrImageFromUri, lambdaImageFromUri } from '../lib/image';
import { GalleryDataStack } from '../lib/stacks/gallery-data-stack';
import { ProcessingStack } from '../lib/stacks/processing-stack';
import { LAMBDA_COMMAND, ServerlessStack } from '../lib/stacks/serverless-stack';

const app = new App();
const ctx = (key: string): string | undefined => {
  const v = app.node.tryGetContext(key);
  return v === undefined || v === null || v === '' ? undefined : String(v);
};

const stage = ctx('stage') ?? 'dev';
const mode = ctx('mode') ?? 'fargate';
if (mode !== 'fargate' && mode !== 'serverless') {
  throw new Error(`context mode must be fargate or serverless, not ${mode}`);
}
const originDomainName = ctx('originDomainName');
if (mode === 'fargate' && !originDomainName) {
  throw new Error('context originDomainName is required (e.g. -c originDomainName=enlarger-origin.example.com)');
}
const int = (key: string): number | undefined => {
  const v = ctx(key);
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v)) throw new Error(`context ${key} must be a whole number, not ${v}`);
  return Number(v);
};
const env = {
  account: ctx('account') ?? process.env.CDK_DEFAULT_ACCOUNT,
  region: ctx('region') ?? process.env.CDK_DEFAULT_REGION,
};
const secretRotation = (v: string | undefined): 'accept' | 'send' | undefined => {
  if (v === undefined || v === 'accept' || v === 'send') return v;
  throw new Error(`context secretRotation must be accept or send, not ${v}`);
};
const list = (key: string): string[] | undefined =>
  ctx(key)
    ?.split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');

const data = new GalleryDataStack(app, `enlarger-${stage}-data`, {
  env,
  stage,
  originalsBucketName: ctx('originalsBucketName'),
  photosTableName: ctx('photosTableName'),
  photosTableKey: ctx('photosTableKey'),
});

const common = {
  env,
  stage,
  originalsBucket: data.originalsBucket,
  photosTable: data.photosTable,
  photosTableKey: ctx('photosTableKey'),
  alarmTopic: ctx('alarmTopicArn') ? sns.Topic.fromTopicArn(data, 'AlarmTopic', ctx('alarmTopicArn')!) : undefined,
  alarmEmails: list('alarmEmail'),
  corsAllowedOrigins: list('corsAllowedOrigins'),
};
const processing =
  mode === 'serverless'
    ? new ServerlessStack(app, `enlarger-${stage}-serverless`, {
        ...common,
        image: ctx('imageUri') ? lambdaImageFromUri(data, 'ImageRepository', ctx('imageUri')!, LAMBDA_COMMAND, env.region) : undefined,
        memorySize: int('memorySize'),
        reservedConcurrency: int('reservedConcurrency'),
      })
    : new ProcessingStack(app, `enlarger-${stage}-processing`, {
        ...common,
        originDomainName: originDomainName!,
        hostedZone:
          ctx('hostedZoneId') && ctx('hostedZoneName')
            ? route53.HostedZone.fromHostedZoneAttributes(data, 'Zone', {
                hostedZoneId: ctx('hostedZoneId')!,
                zoneName: ctx('hostedZoneName')!,
              })
            : undefined,
        originCertificate: ctx('certificateArn')
          ? acm.Certificate.fromCertificateArn(data, 'OriginCert', ctx('certificateArn')!)
          : undefined,
        image: ctx('imageUri') ? ecrImageFromUri(data, 'ImageRepository', ctx('imageUri')!, env.region) : undefined,
        secretRotation: secretRotation(ctx('secretRotation')),
        invalidateCdn: ctx('invalidateCdn') !== 'false',
      });
processing.addStackDependency(data);

// cdk-nag AwsSolutions on every stack: a finding fails `cdk synth`; each acknowledgement
// in lib/ carries its reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
