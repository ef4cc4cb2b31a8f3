/**
 * ServerlessStack: enlarger as one Lambda function, from the same docker/Dockerfile as the
 * Fargate stack, scaling to zero (docs/deploy.md, "The serverless stack"; docs/lambda.md).
 *
 *   originals bucket --Object Created (EventBridge)--> rule --Lambda target (async)--> function
 *        (rule: 185 retries / 24 h for the delivery, then the DLQ; function: 2 retries, then
 *         its on-failure destination, the same DLQ)
 *   viewer --> CloudFront --/render/*--> function URL (AWS_IAM, signed by origin access control)
 *                        --/thumbnails/*, /optimized/*, default--> S3 through origin access control
 *
 * No VPC, NAT gateway, load balancer or secret: the function reaches S3 and DynamoDB over
 * their public endpoints with its role, and only CloudFront may call its URL.
 *
 * AWS facts this relies on (AWS docs):
 * - An EventBridge rule invokes a Lambda target asynchronously; the target's retry policy and
 *   dead-letter queue cover the delivery (throttling, permissions), then Lambda's async
 *   invocation config takes over: MaximumRetryAttempts 0-2 for function errors, about 1 and
 *   2 minutes apart, MaximumEventAgeInSeconds up to 6 h, and an on-failure destination
 *   ("How Lambda handles errors and retries with asynchronous invocation").
 * - A function URL with AuthType AWS_IAM answers only SigV4-signed requests of principals
 *   allowed lambda:InvokeFunctionUrl; CloudFront signs with origin access control. A buffered
 *   response is at most 6 MB ("Lambda quotas").
 * - Lambda gives a function CPU in proportion to its memory: one full vCPU at 1,769 MB
 *   ("Configure Lambda function memory").
 * - AWS_REGION is reserved: Lambda sets it, a function may not.
 */
import { CfnOutput, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  Alarms,
  deadLetterQueue,
  enableOriginalsEvents,
  galleryBuckets,
  galleryDistribution,
  originalEventsRule,
  queueDepthMetric,
  retention,
  ruleMetric,
  serviceStatements,
} from '../gallery-parts';
import { acknowledgeObjectArnWildcards, acknowledgeResourceStarOnlyActions } from '../nag';
import { defaultRenderWidths, findDockerDirectory } from './processing-stack';

/** The image's command for the function (src/cmd/lambda.c). */
export const LAMBDA_COMMAND = ['lambda'];
/** The memory that buys one full vCPU (Lambda allocates CPU in proportion to memory). */
export const MB_PER_VCPU = 1769;
/**
 * ENLARGER_LAMBDA_RESERVE_MS's default, 10 s, is what the largest original the default
 * limits allow needs on one vCPU (docs/lambda.md, "The deadline").
 */
export const RESERVE_MS_AT_ONE_VCPU = 10000;

/**
 * ENLARGER_LAMBDA_RESERVE_MS for a function of memoryMiB: the one-vCPU reserve, longer in
 * proportion when the function has less than a vCPU (more memory adds cores, which a single
 * image job uses only in part, so the reserve does not shrink past one vCPU).
 */
export function reserveMsForMemory(memoryMiB: number): number {
  return Math.ceil((RESERVE_MS_AT_ONE_VCPU * MB_PER_VCPU) / Math.min(memoryMiB, MB_PER_VCPU));
}

export interface ServerlessStackProps extends StackProps {
  /** The gallery's existing originals bucket (photographers upload here). */
  readonly originalsBucket: s3.IBucket;
  /** The gallery's existing photos table. */
  readonly photosTable: dynamodb.ITable;
  /** Partition key attribute of the photos table. @default 'photoId' */
  readonly photosTableKey?: string;
  /** Deployment stage, e.g. 'dev' or 'prod': names resources, and 'prod' retains data. */
  readonly stage: string;

  /**
   * The function's image, from ECR in this region (lambdaImageFromUri). Its command is
   * `lambda`. @default - built from `docker/Dockerfile` in dockerDirectory for linux/arm64
   */
  readonly image?: lambda.DockerImageCode;
  /** The Docker build context: as ProcessingStackProps.dockerDirectory. */
  readonly dockerDirectory?: string;
  /**
   * Memory in MiB; CPU comes with it (one vCPU at 1,769). docs/deploy.md ("Memory") shows the
   * time and GB-seconds per photo behind the default. @default 1769
   */
  readonly memorySize?: number;
  /**
   * The most one invocation may take. Above ENLARGER_LAMBDA_RESERVE_MS (set from memorySize)
   * and at most CloudFront's 30 s origin timeout, which the function URL serves. @default 30 s
   */
  readonly timeout?: Duration;
  /**
   * Concurrent invocations reserved for the function, and so its cap: how many photos are
   * processed at once and how many render misses run at once (further events wait in
   * Lambda's queue; further URL requests get 429). It comes out of the account's
   * concurrency, of which Lambda keeps 100 unreserved. @default - none reserved, no cap
   */
  readonly reservedConcurrency?: number;
  /** Lambda's own retries of a failed event (0-2). @default 2 */
  readonly retryAttempts?: number;
  /** How long an event may wait in Lambda's queue (throttled) before the DLQ. @default 6 h */
  readonly maxEventAge?: Duration;
  /** Days a rendered variant stays in the render cache bucket. @default 30 */
  readonly renderCacheExpirationDays?: number;
  /** Retention of the function's log group. @default one month */
  readonly logRetention?: logs.RetentionDays;
  /** Where alarms notify. @default - a topic created here (AlarmTopicArn output) */
  readonly alarmTopic?: sns.ITopic;
  /** E-mail addresses subscribed to the created alarm topic (each confirms once). */
  readonly alarmEmails?: string[];
  /** The gallery's web origins allowed to read images through CORS. @default - none */
  readonly corsAllowedOrigins?: string[];
  /** CloudFront price class. @default PRICE_CLASS_100 */
  readonly priceClass?: cloudfront.PriceClass;
  /**
   * The widths GET /render accepts (ENLARGER_RENDER_WIDTHS): they bound the variants one
   * photo can have (docs/keys.md, "How many variants").
   * @default - the service's own default, read from include/enlarger/defaults.h
   */
  readonly renderWidths?: number[];
}

export class ServerlessStack extends Stack {
  public readonly thumbnailsBucket: s3.Bucket;
  public readonly optimizedBucket: s3.Bucket;
  public readonly renderCacheBucket: s3.Bucket;
  public readonly function: lambda.DockerImageFunction;
  public readonly functionUrl: lambda.FunctionUrl;
  public readonly distribution: cloudfront.Distribution;
  public readonly rule: events.Rule;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly alarmTopic: sns.ITopic;
  /** Every alarm here, each notifying alarmTopic. */
  public readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: ServerlessStackProps) {
    super(scope, id, props);

    const { removalPolicy } = retention(props.stage);
    const memorySize = props.memorySize ?? MB_PER_VCPU;
    const timeout = props.timeout ?? Duration.seconds(30);
    const reserveMs = reserveMsForMemory(memorySize);
    if (reserveMs >= timeout.toMilliseconds()) {
      throw new Error(
        `ServerlessStack: with ${memorySize} MiB an image job needs ${reserveMs} ms left (ENLARGER_LAMBDA_RESERVE_MS), ` +
          `more than the ${timeout.toSeconds()} s timeout: every photo would be refused; give more memory or time`,
      );
    }
    if (timeout.toSeconds() > 30) {
      throw new Error('ServerlessStack: timeout above 30 s: CloudFront gives up on the function URL at 30 s');
    }

    // ---------------------------------------------------------------- buckets, events
    const buckets = galleryBuckets(this, props.stage, props.renderCacheExpirationDays);
    this.thumbnailsBucket = buckets.thumbnails;
    this.optimizedBucket = buckets.optimized;
    this.renderCacheBucket = buckets.renderCache;
    enableOriginalsEvents(props.originalsBucket);

    // ---------------------------------------------------------------- function
    // Its own role with its own log group: only this group (no AWSLambdaBasicExecutionRole,
    // which may write to any), and exactly the service's statements.
    const logGroup = new logs.LogGroup(this, 'FunctionLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy,
    });
    const role = new iam.Role(this, 'FunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `enlarger ${props.stage}: the Lambda function`,
    });
    const policy = new iam.Policy(this, 'FunctionPolicy', {
      statements: [
        ...serviceStatements(props.originalsBucket, buckets, props.photosTable),
        new iam.PolicyStatement({
          sid: 'WriteOwnLogs',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [logGroup.logGroupArn],
        }),
      ],
    });
    policy.attachToRole(role);
    acknowledgeObjectArnWildcards(
      policy,
      'S3 object actions need an object ARN: bucket/* on exactly the four buckets the service ' +
        'uses, each statement with only the actions it calls (see the Sids). No wildcard actions.',
    );

    const image =
      props.image ??
      lambda.DockerImageCode.fromImageAsset(findDockerDirectory(props.dockerDirectory), {
        file: 'docker/Dockerfile',
        platform: Platform.LINUX_ARM64,
        cmd: LAMBDA_COMMAND,
      });
    this.function = new lambda.DockerImageFunction(this, 'Function', {
      description: `enlarger ${props.stage}: S3 events and /render (function URL)`,
      code: image,
      architecture: lambda.Architecture.ARM_64,
      memorySize,
      timeout,
      role,
      logGroup,
      reservedConcurrentExecutions: props.reservedConcurrency,
      environment: {
        ENLARGER_BACKEND: 'aws',
        ENLARGER_ORIGINALS_BUCKET: props.originalsBucket.bucketName,
        ENLARGER_THUMBNAILS_BUCKET: this.thumbnailsBucket.bucketName,
        ENLARGER_OPTIMIZED_BUCKET: this.optimizedBucket.bucketName,
        ENLARGER_RENDER_BUCKET: this.renderCacheBucket.bucketName,
        ENLARGER_TABLE: props.photosTable.tableName,
        ENLARGER_TABLE_KEY: props.photosTableKey ?? 'photoId',
        ENLARGER_LAMBDA_RESERVE_MS: String(reserveMs),
        // The bound on variants per photo, explicit in the template.
        ENLARGER_RENDER_WIDTHS: (props.renderWidths ?? defaultRenderWidths(findDockerDirectory(undefined))).join(','),
      },
    });
    // The image pull: the asset's (or given) repository only, plus ecr:GetAuthorizationToken.
    const defaultPolicy = role.node.tryFindChild('DefaultPolicy');
    if (defaultPolicy) {
      acknowledgeResourceStarOnlyActions(
        defaultPolicy,
        'ecr:GetAuthorizationToken has no resource type in IAM and is granted on "*" only; the ' +
          'image pull itself is limited to the repository.',
      );
    }

    // ---------------------------------------------------------------- events
    this.deadLetterQueue = deadLetterQueue(
      this,
      props.stage,
      "This queue is itself the dead-letter queue: of the rule's target and the function's on-failure destination.",
    );
    // Lambda's own retries of a function error, then the DLQ (docs/lambda.md, "Retries").
    this.function.configureAsyncInvoke({
      retryAttempts: props.retryAttempts ?? 2,
      maxEventAge: props.maxEventAge ?? Duration.hours(6),
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
    });
    this.rule = originalEventsRule(this, props.stage, props.originalsBucket);
    this.rule.addTarget(
      new targets.LambdaFunction(this.function, {
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 185,
        maxEventAge: Duration.hours(24),
      }),
    );

    // ---------------------------------------------------------------- CloudFront
    this.functionUrl = this.function.addFunctionUrl({
      authType: lambda.FunctionUrlAuthType.AWS_IAM,
      invokeMode: lambda.InvokeMode.BUFFERED,
    });
    this.distribution = galleryDistribution(this, {
      stage: props.stage,
      buckets,
      renderOrigin: origins.FunctionUrlOrigin.withOriginAccessControl(this.functionUrl, {
        readTimeout: Duration.seconds(30),
      }),
      originProtection: 'the function URL answers only requests CloudFront signs (AWS_IAM auth)',
      corsAllowedOrigins: props.corsAllowedOrigins,
      priceClass: props.priceClass,
    });

    // ---------------------------------------------------------------- alarms
    const alarms = new Alarms(this, props.stage, props.alarmTopic, props.alarmEmails);
    this.alarmTopic = alarms.topic;
    this.alarms = alarms.all;
    const fnMetric = (metricName: string, statistic: string = cloudwatch.Stats.SUM) =>
      this.function.metric(metricName, { period: Duration.minutes(5), statistic });
    alarms.add('ProcessDeadLetterAlarm', {
      alarmDescription:
        `enlarger ${props.stage}: an original could not be processed (rejected, or retries exhausted); ` +
        'the event and its errorType are in the DLQ',
      metric: queueDepthMetric(this.deadLetterQueue),
      ...Alarms.AT_LEAST_ONE,
    });
    alarms.add('RuleFailedInvocationsAlarm', {
      alarmDescription: `enlarger ${props.stage}: EventBridge could not hand an event to the function within 24 h`,
      metric: ruleMetric(this.rule, 'FailedInvocations'),
      ...Alarms.AT_LEAST_ONE,
    });
    alarms.add('RuleDlqSendFailedAlarm', {
      alarmDescription: `enlarger ${props.stage}: EventBridge could not put a failed event in the DLQ: that event is lost`,
      metric: ruleMetric(this.rule, 'InvocationsFailedToBeSentToDlq'),
      ...Alarms.AT_LEAST_ONE,
    });
    alarms.add('DestinationDeliveryFailuresAlarm', {
      alarmDescription: `enlarger ${props.stage}: Lambda could not put a failed event in the DLQ: that event is lost`,
      metric: fnMetric('DestinationDeliveryFailures'),
      ...Alarms.AT_LEAST_ONE,
    });
    alarms.add('AsyncEventsDroppedAlarm', {
      alarmDescription: `enlarger ${props.stage}: Lambda dropped events (too old in its queue) without running them`,
      metric: fnMetric('AsyncEventsDropped'),
      ...Alarms.AT_LEAST_ONE,
    });
    // A share, not a count: a rejected upload is an error too (docs/lambda.md), and a few are
    // the gallery's photographers, not an outage.
    alarms.add('FunctionErrorsAlarm', {
      alarmDescription: `enlarger ${props.stage}: more than 5 % of the invocations failed for 10 of the last 15 minutes`,
      metric: new cloudwatch.MathExpression({
        label: 'function errors %',
        expression: 'IF(FILL(invocations, 0) >= 20, 100 * FILL(errors, 0) / invocations, 0)',
        usingMetrics: { errors: fnMetric('Errors'), invocations: fnMetric('Invocations') },
        period: Duration.minutes(5),
      }),
      threshold: 5,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    alarms.add('FunctionThrottlesAlarm', {
      alarmDescription:
        `enlarger ${props.stage}: invocations throttled in 3 periods of 5 minutes running ` +
        '(events wait in Lambda\'s queue; /render misses get 429): raise reservedConcurrency',
      metric: fnMetric('Throttles'),
      threshold: 1,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
    alarms.add('FunctionDurationP99Alarm', {
      alarmDescription: `enlarger ${props.stage}: p99 of the invocations' duration above 80 % of the timeout in 3 of 5 periods`,
      metric: fnMetric('Duration', cloudwatch.Stats.p(99)),
      threshold: timeout.toMilliseconds() * 0.8,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });

    // ---------------------------------------------------------------- outputs
    new CfnOutput(this, 'DistributionDomainName', { value: this.distribution.distributionDomainName });
    new CfnOutput(this, 'DistributionId', { value: this.distribution.distributionId });
    new CfnOutput(this, 'FunctionName', { value: this.function.functionName });
    new CfnOutput(this, 'FunctionUrl', { value: this.functionUrl.url });
    new CfnOutput(this, 'FunctionLogGroupName', { value: logGroup.logGroupName });
    new CfnOutput(this, 'ThumbnailsBucketName', { value: this.thumbnailsBucket.bucketName });
    new CfnOutput(this, 'OptimizedBucketName', { value: this.optimizedBucket.bucketName });
    new CfnOutput(this, 'RenderCacheBucketName', { value: this.renderCacheBucket.bucketName });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
  }
}
