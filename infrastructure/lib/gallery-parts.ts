/**
 * The parts both deployments of enlarger build the same way: ProcessingStack (Fargate
 * behind an ALB) and ServerlessStack (one Lambda function). Each part is created in the
 * stack it is given, under the construct ids the stacks have always used, so a stack's
 * template does not change when a part moves here.
 *
 * - the derivative buckets and the access-log bucket;
 * - S3 -> EventBridge for the originals bucket, and the rule for "Object Created" and
 *   "Object Deleted";
 * - the service's IAM statements (exactly what it calls: docs/deploy.md lists them);
 * - the dead-letter queue, the alarm topic and the alarms on the rule and the queue;
 * - the CloudFront distribution: the S3 behaviours through origin access control, and
 *   `/render/*` to whatever origin the stack serves it from.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { NORMALISE_ACCEPT_SOURCE, STRIP_PREFIX_SOURCE } from './functions/normalise-accept';

/** What a stage keeps when its stack is deleted: prod keeps buckets, logs and queues. */
export function retention(stage: string): { removalPolicy: RemovalPolicy; autoDeleteObjects: boolean } {
  const prod = stage === 'prod';
  // Outside prod a deleted stack takes its buckets' objects with it (CDK's auto-delete
  // custom resource empties them first); prod keeps buckets and objects.
  return { removalPolicy: prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY, autoDeleteObjects: !prod };
}

export interface GalleryBuckets {
  /** Access logs of the other buckets, the load balancer and CloudFront. */
  readonly logs: s3.Bucket;
  readonly thumbnails: s3.Bucket;
  readonly optimized: s3.Bucket;
  readonly renderCache: s3.Bucket;
}

/**
 * The object tag the service puts on every rendered variant it caches (ENL_VARIANT_TAG in
 * include/enlarger/keys.h: the tests hold the two equal). The render bucket's expiring rule
 * selects it, so the bucket's untagged objects (each version's mezzanine) stay until the
 * photo's replacement or deletion removes them.
 */
export const RENDER_VARIANT_TAG: Readonly<Record<string, string>> = { 'enlarger-cache': 'variant' };

/** The buckets enlarger writes, and the one their access logs go to. */
export function galleryBuckets(stack: Stack, stage: string, renderCacheExpirationDays = 30): GalleryBuckets {
  const { removalPolicy, autoDeleteObjects } = retention(stage);
  // One bucket receives the access logs of the others, the ALB and CloudFront. CloudFront
  // standard logging writes with ACLs, hence OBJECT_WRITER ownership on this bucket only.
  const logs = new s3.Bucket(stack, 'AccessLogsBucket', {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    objectOwnership: s3.ObjectOwnership.OBJECT_WRITER,
    lifecycleRules: [{ expiration: Duration.days(90), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    removalPolicy,
    autoDeleteObjects,
  });
  Validations.of(logs).acknowledge({
    id: 'AwsSolutions-S1',
    reason: 'This is the access-log bucket; logging it into itself would loop.',
  });

  const derivativeBucket = (id: string, extra: Partial<s3.BucketProps> = {}) =>
    new s3.Bucket(stack, id, {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: logs,
      serverAccessLogsPrefix: `s3/${id}/`,
      removalPolicy,
      autoDeleteObjects,
      ...extra,
    });
  const thumbnails = derivativeBucket('ThumbnailsBucket', {
    lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(1) }],
  });
  const optimized = derivativeBucket('OptimizedBucket', {
    lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(1) }],
  });
  // Rendered variants are a cache: CloudFront keeps hot ones at the edge, and anything
  // can be rendered again from the original, so old variants simply expire. Only tagged
  // ones: a lifecycle filter cannot exclude a prefix, and the mezzanines beside them must
  // live as long as their photo. S3 refuses AbortIncompleteMultipartUpload in a rule with a
  // tag filter, hence a second rule for that, over the whole bucket.
  const renderCache = derivativeBucket('RenderCacheBucket', {
    lifecycleRules: [
      {
        id: 'expire-rendered-variants',
        tagFilters: RENDER_VARIANT_TAG,
        expiration: Duration.days(renderCacheExpirationDays),
      },
      { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
    ],
  });
  return { logs, thumbnails, optimized, renderCache };
}

/** S3 -> EventBridge for the originals bucket ("Object Created" events on the default bus). */
export function enableOriginalsEvents(originalsBucket: s3.IBucket): void {
  originalsBucket.enableEventBridgeNotification();
  // CDK sets bucket notifications through its own custom resource (one Lambda per stack,
  // in the bucket's stack). Its role uses the basic execution managed policy (logs only).
  const notificationsHandler = Stack.of(originalsBucket).node.tryFindChild(
    'BucketNotificationsHandler050a0587b7544547bf325f094a3db834',
  );
  if (notificationsHandler) {
    Validations.of(notificationsHandler).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        "CDK's BucketNotifications handler (deploy time only) writes its logs with the AWS managed " +
        'basic execution policy; its S3 permission is its own inline policy.',
    });
  }
}

/**
 * The rule that sends each new and each deleted original of originalsBucket to the stack's
 * target. Both types: a rule must list every detail type it wants. A delete makes the
 * service delete the photo's derivatives and render variants and mark its item "deleted".
 * (The construct id predates deletes; renaming it would replace the rule.)
 */
export function originalEventsRule(stack: Stack, stage: string, originalsBucket: s3.IBucket): events.Rule {
  return new events.Rule(stack, 'OriginalCreated', {
    description: `enlarger ${stage}: process each new original, clean up each deleted one`,
    eventPattern: {
      source: ['aws.s3'],
      detailType: ['Object Created', 'Object Deleted'],
      detail: { bucket: { name: [originalsBucket.bucketName] } },
    },
  });
}

/**
 * The service's permissions, one statement per use (no grant* helpers: they add
 * s3:GetBucket*, s3:List*, s3:Abort*, dynamodb:Query, ... that the service never calls).
 */
export function serviceStatements(
  originalsBucket: s3.IBucket,
  buckets: GalleryBuckets,
  photosTable: dynamodb.ITable,
): iam.PolicyStatement[] {
  const statement = (sid: string, actions: string[], resources: string[]) =>
    new iam.PolicyStatement({ sid, effect: iam.Effect.ALLOW, actions, resources });
  return [
    statement('ReadOriginals', ['s3:GetObject'], [originalsBucket.arnForObjects('*')]),
    // ListBucket (bucket only) makes S3 answer 404 NoSuchKey for a deleted original instead
    // of 403, so the service can tell "gone, don't retry" from "denied, misconfigured".
    statement('ListOriginals', ['s3:ListBucket'], [originalsBucket.bucketArn]),
    // Delete and List: a replaced or deleted photo's old derivatives are deleted (the
    // service lists <photoId>/ to find their versions).
    statement(
      'WriteDerivatives',
      ['s3:PutObject', 's3:DeleteObject'],
      [buckets.thumbnails.arnForObjects('*'), buckets.optimized.arnForObjects('*')],
    ),
    statement('ListDerivatives', ['s3:ListBucket'], [buckets.thumbnails.bucketArn, buckets.optimized.bucketArn]),
    // PutObjectTagging: a PUT with tags (x-amz-tagging, each variant's RENDER_VARIANT_TAG)
    // needs it as well as PutObject.
    statement(
      'ReadWriteRenderCache',
      ['s3:GetObject', 's3:PutObject', 's3:PutObjectTagging', 's3:DeleteObject'],
      [buckets.renderCache.arnForObjects('*')],
    ),
    // Listing an original's prefix finds the stale variants to delete after it is replaced
    // or deleted.
    statement('ListRenderCache', ['s3:ListBucket'], [buckets.renderCache.bucketArn]),
    statement('UpdatePhotoItems', ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [photosTable.tableArn]),
  ];
}

/**
 * The one CloudFront permission the service needs when it invalidates a deleted or replaced
 * photo's edge copies (ENLARGER_CDN_DISTRIBUTION_ID): CreateInvalidation on distribution
 * only.
 */
export function cdnInvalidationStatement(distribution: cloudfront.IDistribution): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'InvalidateCdn',
    effect: iam.Effect.ALLOW,
    actions: ['cloudfront:CreateInvalidation'],
    resources: [distribution.distributionArn],
  });
}

/** The SQS queue where events that could not be processed end up. */
export function deadLetterQueue(stack: Stack, stage: string, reason: string): sqs.Queue {
  const queue = new sqs.Queue(stack, 'ProcessDeadLetterQueue', {
    retentionPeriod: Duration.days(14),
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    removalPolicy: retention(stage).removalPolicy,
  });
  Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason });
  return queue;
}

/** Makes alarms that all notify one topic, and collects them. */
export class Alarms {
  public readonly topic: sns.ITopic;
  public readonly all: cloudwatch.Alarm[] = [];

  /** topic: the gallery's; else one created here that emails subscribe to. */
  constructor(
    private readonly stack: Stack,
    stage: string,
    topic?: sns.ITopic,
    emails: string[] = [],
  ) {
    if (topic) {
      this.topic = topic;
    } else {
      const created = new sns.Topic(stack, 'AlarmTopic', { displayName: `enlarger ${stage} alarms`, enforceSSL: true });
      Validations.of(created).acknowledge({
        id: 'AwsSolutions-SNS2',
        reason:
          'Alarm notifications carry alarm names and metric values, nothing private. CloudWatch can ' +
          'publish to an encrypted topic only through a customer managed key whose policy admits ' +
          'cloudwatch.amazonaws.com; the AWS managed SNS key would silently drop every alarm.',
      });
      this.topic = created;
    }
    for (const email of emails) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    }
  }

  /** An alarm (missing data is not breaching) that notifies the topic. */
  add(id: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm {
    const a = new cloudwatch.Alarm(this.stack, id, { treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, ...props });
    a.addAlarmAction(new cwActions.SnsAction(this.topic));
    this.all.push(a);
    return a;
  }

  /** Fires at the first datapoint of one or more. */
  static readonly AT_LEAST_ONE = {
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  };

}

/** One of the rule's EventBridge metrics (AWS/Events, per RuleName), summed over 5 minutes. */
export function ruleMetric(rule: events.IRule, metricName: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/Events',
    metricName,
    dimensionsMap: { RuleName: rule.ruleName },
    statistic: cloudwatch.Stats.SUM,
    period: Duration.minutes(5),
  });
}

/** The messages waiting in a queue, at most over 5 minutes (for "the DLQ holds one"). */
export function queueDepthMetric(queue: sqs.IQueue): cloudwatch.Metric {
  return queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM });
}

export interface GalleryCdnProps {
  readonly stage: string;
  readonly buckets: GalleryBuckets;
  /** The origin of `/render/*`. */
  readonly renderOrigin: cloudfront.IOrigin;
  /** How that origin refuses anyone but CloudFront, in words (for cdk-nag's WAF finding). */
  readonly originProtection: string;
  /** The gallery's web origins allowed by CORS. @default - none */
  readonly corsAllowedOrigins?: string[];
  /** @default PRICE_CLASS_100 */
  readonly priceClass?: cloudfront.PriceClass;
}

/**
 * The distribution: `/render/*` to renderOrigin with Accept folded for `fmt=auto`, and
 * `/thumbnails/*`, `/optimized/*` (and the default behaviour) to their buckets through
 * origin access control.
 */
export function galleryDistribution(stack: Stack, props: GalleryCdnProps): cloudfront.Distribution {
  const normaliseAccept = new cloudfront.Function(stack, 'NormaliseAccept', {
    comment: 'fmt=auto: fold Accept into avif / webp / other for the cache key',
    runtime: cloudfront.FunctionRuntime.JS_2_0,
    code: cloudfront.FunctionCode.fromInline(NORMALISE_ACCEPT_SOURCE),
  });
  const stripPrefix = new cloudfront.Function(stack, 'StripPrefix', {
    comment: 'drop /thumbnails or /optimized before the S3 key',
    runtime: cloudfront.FunctionRuntime.JS_2_0,
    code: cloudfront.FunctionCode.fromInline(STRIP_PREFIX_SOURCE),
  });

  const renderCachePolicy = new cloudfront.CachePolicy(stack, 'RenderCachePolicy', {
    comment: 'enlarger /render: key = path + w,h,fit,q,fmt,v,sig + normalised Accept',
    headerBehavior: cloudfront.CacheHeaderBehavior.allowList('accept'),
    // Exactly the service's parameters: v (the version) and sig (the signature) are part of
    // the URL's identity, and any other query string is neither cached on nor forwarded.
    queryStringBehavior: cloudfront.CacheQueryStringBehavior.allowList('w', 'h', 'fit', 'q', 'fmt', 'v', 'sig'),
    cookieBehavior: cloudfront.CacheCookieBehavior.none(),
    minTtl: Duration.seconds(0),
    defaultTtl: Duration.days(1),
    maxTtl: Duration.days(365),
    enableAcceptEncodingGzip: false,
    enableAcceptEncodingBrotli: false,
  });

  // Added at the edge to every answer, cached or not: HSTS, nosniff, and CORS for the
  // gallery's origins (a page on another origin that reads the pixels, e.g. a canvas or
  // fetch(), needs Access-Control-Allow-Origin; CloudFront sends it only to listed origins).
  const corsOrigins = props.corsAllowedOrigins ?? [];
  const responseHeaders = new cloudfront.ResponseHeadersPolicy(stack, 'ResponseHeaders', {
    comment: `enlarger ${props.stage}: HSTS, nosniff${corsOrigins.length ? ', CORS for the gallery' : ''}`,
    securityHeadersBehavior: {
      strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, override: true },
      contentTypeOptions: { override: true },
    },
    corsBehavior: corsOrigins.length
      ? {
          accessControlAllowOrigins: corsOrigins,
          accessControlAllowMethods: ['GET', 'HEAD'],
          accessControlAllowHeaders: ['*'],
          accessControlAllowCredentials: false,
          accessControlMaxAge: Duration.days(1),
          originOverride: true,
        }
      : undefined,
  });

  const s3Behaviour = (bucket: s3.IBucket): cloudfront.BehaviorOptions => ({
    origin: origins.S3BucketOrigin.withOriginAccessControl(bucket),
    viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
    allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
    cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
    responseHeadersPolicy: responseHeaders,
    compress: false,
    functionAssociations: [{ function: stripPrefix, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
  });

  const { buckets } = props;
  const distribution = new cloudfront.Distribution(stack, 'Cdn', {
    comment: `enlarger ${props.stage}`,
    priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
    httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
    enableLogging: true,
    logBucket: buckets.logs,
    logFilePrefix: 'cloudfront/',
    defaultBehavior: s3Behaviour(buckets.optimized),
    additionalBehaviors: {
      '/render/*': {
        origin: props.renderOrigin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: renderCachePolicy,
        responseHeadersPolicy: responseHeaders,
        compress: false,
        functionAssociations: [{ function: normaliseAccept, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
      },
      '/thumbnails/*': s3Behaviour(buckets.thumbnails),
      '/optimized/*': s3Behaviour(buckets.optimized),
    },
  });
  Validations.of(distribution).acknowledge({
    id: 'AwsSolutions-CFR1',
    reason: 'A photographer gallery is public worldwide; no country is restricted.',
  });
  Validations.of(distribution).acknowledge({
    id: 'AwsSolutions-CFR2',
    reason:
      `No WAF by default (about $6/month before requests): ${props.originProtection}, ` +
      'the service validates widths and formats, and results are cached. ' +
      'Attach a web ACL through Distribution.webAclId where abuse shows up.',
  });
  Validations.of(distribution).acknowledge({
    id: 'AwsSolutions-CFR4',
    reason:
      'The default *.cloudfront.net certificate cannot enforce a minimum viewer TLS version. ' +
      'Give the distribution a custom domain and certificate with TLSv1.2_2021 to lift this.',
  });
  return distribution;
}
