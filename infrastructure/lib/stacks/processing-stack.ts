/**
 * ProcessingStack: enlarger on AWS.
 *
 *   originals bucket --Object Created / Deleted (EventBridge)--> rule --API destination--> ALB /process
 *                                                     (retries, then SQS DLQ + alarm)
 *   viewer --> CloudFront --/render/*--> ALB (secret origin header) --> Fargate tasks (ARM64)
 *                        --/thumbnails/*, /optimized/*, default--> S3 through origin access control
 *
 * Drops into the gallery's CDK app next to its storage stack (originals bucket) and database
 * stack (photos table): both are props, nothing here re-creates them. bin/app.ts deploys it
 * on its own with stand-ins.
 *
 * AWS facts this relies on (AWS docs):
 * - EventBridge API destinations call HTTPS endpoints only, with a public domain name and a
 *   publicly trusted certificate; so the ALB has an HTTPS listener on `originDomainName`.
 * - An API destination call that takes longer than 5 s has failed; 429 and 5xx are retried
 *   with backoff (up to 24 h / 185 attempts), other 4xx are not; what is left goes to the
 *   target's dead-letter queue (EventBridge user guide: "API destinations", "Event retry
 *   policy and using dead-letter queues"). Its metrics (AWS/Events, per RuleName) include
 *   FailedInvocations and InvocationsFailedToBeSentToDlq ("Monitoring Amazon EventBridge").
 * - CloudFront puts cache-policy headers in the cache key; the default origin response
 *   timeout is 30 s, so the ALB idle timeout is set above it.
 * - Fargate (platform 1.4) pulls images from ECR through the ecr.api and ecr.dkr interface
 *   endpoints plus the S3 gateway endpoint (layers live in S3), sends awslogs through the
 *   logs endpoint and resolves `secrets` through the secretsmanager endpoint; with those the
 *   tasks need no NAT gateway (Amazon ECR user guide: "interface VPC endpoints").
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Aws,
  CfnOutput,
  Duration,
  RemovalPolicy,
  SecretValue,
  Stack,
  StackProps,
  Validations,
} from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53Targets from 'aws-cdk-lib/aws-route53-targets';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeObjectArnWildcards, acknowledgeResourceStarOnlyActions } from '../nag';
import {
  Alarms,
  cdnInvalidationStatement,
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

/** Header names shared with the service (src/http) and the tests. */
export const API_KEY_HEADER = 'x-api-key';
export const ORIGIN_SECRET_HEADER = 'x-origin-secret';
export const CONTAINER_PORT = 8080;
/**
 * The longest an event waits for a job slot (ENLARGER_PROCESS_QUEUE_TIMEOUT_MS): EventBridge's
 * API destination gives up after 5 s, so a job that cannot start within 3 s answers 429 with a
 * Retry-After estimated from the queue, and the remaining 2 s cover a job that did start.
 */
export const PROCESS_QUEUE_TIMEOUT_MS = 3000;

export interface ProcessingStackProps extends StackProps {
  /** The gallery's existing originals bucket (photographers upload here). */
  readonly originalsBucket: s3.IBucket;
  /** The gallery's existing photos table. */
  readonly photosTable: dynamodb.ITable;
  /** Partition key attribute of the photos table. @default 'photoId' */
  readonly photosTableKey?: string;
  /** Deployment stage, e.g. 'dev' or 'prod': names resources, and 'prod' retains data. */
  readonly stage: string;

  /**
   * Public DNS name of the ALB (EventBridge API destinations and CloudFront both call it
   * over HTTPS), e.g. 'enlarger-origin.example.com'.
   */
  readonly originDomainName: string;
  /**
   * Certificate for originDomainName, in this stack's region. Without hostedZone, point
   * originDomainName at the AlbDnsName output yourself (a CNAME; docs/deploy.md).
   * @default - issued here, DNS-validated in hostedZone
   */
  readonly originCertificate?: acm.ICertificate;
  /** Zone for the ALB's alias record (and certificate validation). @default - no record */
  readonly hostedZone?: route53.IHostedZone;

  /**
   * The container image. The tasks reach AWS only through VPC endpoints (no NAT), so it
   * must live in ECR in this region. @default - built from `docker/Dockerfile` in
   * dockerDirectory for linux/arm64 (a CDK image asset)
   */
  readonly image?: ecs.ContainerImage;
  /**
   * The Docker build context of the image asset: this repository's root, which holds
   * docker/Dockerfile (and the .dockerignore that keeps the context to the sources). Set it
   * when the gallery's CDK app vendors this repository somewhere else.
   * @default - the nearest directory above this file that holds docker/Dockerfile
   */
  readonly dockerDirectory?: string;
  /** Task size in CPU units (1024 = 1 vCPU); ENLARGER_JOBS follows it. @default 1024 */
  readonly cpu?: number;
  /** @default 2048 (2 GB) */
  readonly memoryLimitMiB?: number;
  /** @default 1 */
  readonly minTasks?: number;
  /** @default 10 */
  readonly maxTasks?: number;
  /** Target average CPU for autoscaling. @default 60 */
  readonly targetCpuPercent?: number;
  /**
   * Average CPU over one minute at which tasks are added at once (step scaling: +1 from
   * here, +2 from 95 %), for a bulk upload that saturates the tasks. @default 85
   */
  readonly burstCpuPercent?: number;
  /** Target ALB requests per task per minute for autoscaling (the /render signal). @default 600 */
  readonly targetRequestsPerTaskPerMinute?: number;
  /** API destination InvocationRateLimitPerSecond. @default 10 */
  readonly invocationRateLimitPerSecond?: number;
  /** Days a rendered variant stays in the render cache bucket. @default 30 */
  readonly renderCacheExpirationDays?: number;
  /** Retention of every log group here. @default one month */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Availability zones that hold the interface endpoints (ECR, logs, Secrets Manager) the
   * tasks use instead of a NAT gateway. With 1, tasks in the other zone cross zones to
   * reach them and depend on that zone. @default 2 for stage prod, else 1
   */
  readonly endpointAzs?: number;
  /** Where alarms notify. @default - a topic created here (AlarmTopicArn output) */
  readonly alarmTopic?: sns.ITopic;
  /** E-mail addresses subscribed to the created alarm topic (each confirms once). */
  readonly alarmEmails?: string[];
  /**
   * The gallery's web origins (e.g. 'https://gallery.example.com') allowed to read images
   * through CORS; CloudFront answers them with Access-Control-Allow-Origin. @default - none
   */
  readonly corsAllowedOrigins?: string[];
  /** CloudFront price class. @default PRICE_CLASS_100 */
  readonly priceClass?: cloudfront.PriceClass;
  /**
   * The widths GET /render accepts (ENLARGER_RENDER_WIDTHS): they bound the variants one
   * photo can have (docs/keys.md, "How many variants").
   * @default - the service's own default, read from include/enlarger/defaults.h
   */
  readonly renderWidths?: number[];
  /**
   * Require signed /render URLs: a generated Secrets Manager secret becomes
   * ENLARGER_RENDER_SIGNING_KEY (RenderSigningKeySecretArn output), which the gallery's
   * backend reads to sign its URLs (docs/signing.md). Turn it on once the gallery signs.
   * @default false
   */
  readonly signRenderUrls?: boolean;
  /**
   * A rotation of both secrets in progress (docs/deploy.md, "Secrets and their rotation"),
   * with their new values staged AWSPENDING. 'accept': the tasks take the AWSPENDING values
   * as their secrets and the AWSCURRENT ones as *_PREVIOUS, so they accept both;
   * EventBridge and CloudFront still send AWSCURRENT. 'send': the same, and EventBridge's
   * connection and CloudFront's origin header send AWSPENDING (a changed reference, so
   * CloudFormation resolves it again). @default - no rotation: AWSCURRENT everywhere
   */
  readonly secretRotation?: 'accept' | 'send';
  /**
   * Invalidate the distribution's copies of a photo when it is deleted or replaced (one
   * CreateInvalidation of 3 paths each; the first 1,000 paths a month are free, then $0.005
   * a path: docs/deploy.md, "Cost"). Without it, the edge serves a deleted photo's
   * thumbnails and renders until their TTL ends. @default true
   */
  readonly invalidateCdn?: boolean;
}

/**
 * The two secrets as the tasks get them (resolved by ECS at task start): AWSCURRENT, or
 * during a rotation AWSPENDING with AWSCURRENT as the *_PREVIOUS the service also accepts.
 */
function taskSecrets(
  apiKey: secretsmanager.ISecret,
  origin: secretsmanager.ISecret,
  rotation?: 'accept' | 'send',
): Record<string, ecs.Secret> {
  if (!rotation) {
    return {
      ENLARGER_PROCESS_API_KEY: ecs.Secret.fromSecretsManager(apiKey),
      ENLARGER_ORIGIN_SECRET: ecs.Secret.fromSecretsManager(origin),
    };
  }
  const stage = (secret: secretsmanager.ISecret, versionStage: string) =>
    ecs.Secret.fromSecretsManagerVersion(secret, { versionStage });
  return {
    ENLARGER_PROCESS_API_KEY: stage(apiKey, 'AWSPENDING'),
    ENLARGER_PROCESS_API_KEY_PREVIOUS: stage(apiKey, 'AWSCURRENT'),
    ENLARGER_ORIGIN_SECRET: stage(origin, 'AWSPENDING'),
    ENLARGER_ORIGIN_SECRET_PREVIOUS: stage(origin, 'AWSCURRENT'),
  };
}

/** The value EventBridge and CloudFront send: AWSPENDING in a rotation's 'send' step. */
function sentSecret(secret: secretsmanager.ISecret, rotation?: 'accept' | 'send'): SecretValue {
  return rotation === 'send'
    ? SecretValue.secretsManager(secret.secretArn, { versionStage: 'AWSPENDING' })
    : secret.secretValue;
}

/** The directory holding docker/Dockerfile: `dir` itself, checked, or the nearest above `from`. */
export function findDockerDirectory(dir: string | undefined, from: string = __dirname): string {
  const has = (d: string) => fs.existsSync(path.join(d, 'docker', 'Dockerfile'));
  if (dir !== undefined) {
    if (!has(dir)) throw new Error(`ProcessingStack: dockerDirectory ${dir} has no docker/Dockerfile`);
    return path.resolve(dir);
  }
  for (let d = path.resolve(from); ; d = path.dirname(d)) {
    if (has(d)) return d;
    if (path.dirname(d) === d) {
      throw new Error(`ProcessingStack: no docker/Dockerfile above ${from}; pass dockerDirectory or image`);
    }
  }
}

/**
 * The service's default ENLARGER_RENDER_WIDTHS, from the one place it is written
 * (ENL_DEFAULT_RENDER_WIDTHS in include/enlarger/defaults.h under `root`: the repository this
 * CDK app is part of).
 */
export function defaultRenderWidths(root: string): number[] {
  const header = path.join(root, 'include', 'enlarger', 'defaults.h');
  const m = /#define ENL_DEFAULT_RENDER_WIDTHS "([0-9,]+)"/.exec(fs.readFileSync(header, 'utf8'));
  if (!m) throw new Error(`ProcessingStack: no ENL_DEFAULT_RENDER_WIDTHS in ${header}; pass renderWidths`);
  return m[1].split(',').map(Number);
}

/**
 * ENLARGER_JOBS for a task of `cpu` units: the service's own rule (src/util/config.c: one job
 * per core plus one, so a core never idles while a job waits on S3), applied to the task's
 * vCPUs. Set explicitly because the CPU count a Fargate task sees is that of the VM it runs
 * on, which need not match the vCPUs the task pays for.
 */
export function jobsForCpu(cpu: number): number {
  return Math.max(1, Math.ceil(cpu / 1024)) + 1;
}

export class ProcessingStack extends Stack {
  public readonly thumbnailsBucket: s3.Bucket;
  public readonly optimizedBucket: s3.Bucket;
  public readonly renderCacheBucket: s3.Bucket;
  public readonly service: ecs.FargateService;
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  public readonly distribution: cloudfront.Distribution;
  public readonly rule: events.Rule;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  public readonly alarmTopic: sns.ITopic;
  /** Every alarm here, each notifying alarmTopic. */
  public readonly alarms: cloudwatch.Alarm[];
  public readonly apiKeySecret: secretsmanager.Secret;
  public readonly originSecret: secretsmanager.Secret;
  /** ENLARGER_RENDER_SIGNING_KEY, when signRenderUrls is on. */
  public readonly renderSigningKey?: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: ProcessingStackProps) {
    super(scope, id, props);

    const prod = props.stage === 'prod';
    const { removalPolicy } = retention(props.stage);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const tableKey = props.photosTableKey ?? 'photoId';

    // ---------------------------------------------------------------- buckets
    const buckets = galleryBuckets(this, props.stage, props.renderCacheExpirationDays);
    const logsBucket = buckets.logs;
    this.thumbnailsBucket = buckets.thumbnails;
    this.optimizedBucket = buckets.optimized;
    this.renderCacheBucket = buckets.renderCache;
    enableOriginalsEvents(props.originalsBucket);

    // ---------------------------------------------------------------- secrets
    // Two generated secrets, never in the template as plain text: the API key EventBridge's
    // Connection sends on POST /process, and the header CloudFront adds on /render/*.
    // The service gets both as ECS secrets (resolved at task start by the execution role).
    const secretString = { excludePunctuation: true, includeSpace: false, passwordLength: 48 };
    this.apiKeySecret = new secretsmanager.Secret(this, 'ProcessApiKey', {
      description: `enlarger ${props.stage}: ${API_KEY_HEADER} for POST /process (EventBridge connection)`,
      generateSecretString: secretString,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.originSecret = new secretsmanager.Secret(this, 'OriginSecret', {
      description: `enlarger ${props.stage}: ${ORIGIN_SECRET_HEADER} CloudFront adds on /render/*`,
      generateSecretString: secretString,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // With signRenderUrls, a third: the HMAC key of /render URLs, which the gallery's
    // backend reads too (48 letters and digits: over the service's 32-character minimum).
    if (props.signRenderUrls) {
      this.renderSigningKey = new secretsmanager.Secret(this, 'RenderSigningKey', {
        description: `enlarger ${props.stage}: ENLARGER_RENDER_SIGNING_KEY, signs /render URLs (the gallery's backend signs with it)`,
        generateSecretString: secretString,
        removalPolicy: RemovalPolicy.DESTROY,
      });
    }
    for (const secret of [this.apiKeySecret, this.originSecret, ...(this.renderSigningKey ? [this.renderSigningKey] : [])]) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Rotating needs the consumers updated in step (EventBridge connection, CloudFront origin or ' +
          'the gallery backend, then the ECS service redeployed); docs/deploy.md and docs/signing.md ' +
          'give the manual procedure. ' +
          'A rotation Lambda for a shared header secret would add more surface than it removes.',
      });
    }

    // ---------------------------------------------------------------- network
    // No NAT gateway: the tasks reach S3 and DynamoDB through gateway endpoints (free, and
    // image bytes never pay NAT processing) and ECR, CloudWatch Logs and Secrets Manager
    // through interface endpoints. Two NAT gateways (one per zone, as prod needs) cost more
    // than the four endpoints in two zones (docs/deploy.md, "Cost"), and the tasks then have
    // no route to the internet at all.
    const flowLogGroup = new logs.LogGroup(this, 'VpcFlowLogs', { retention: logRetention, removalPolicy });
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'tasks', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 },
      ],
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
      flowLogs: {
        all: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup), trafficType: ec2.FlowLogTrafficType.REJECT },
      },
    });

    // ---------------------------------------------------------------- ECS service
    const cluster = new ecs.Cluster(this, 'Cluster', {
      vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    const cpu = props.cpu ?? 1024;
    const taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDef', {
      cpu,
      memoryLimitMiB: props.memoryLimitMiB ?? 2048,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
      volumes: [{ name: 'tmp' }],
    });

    const serviceLogGroup = new logs.LogGroup(this, 'ServiceLogs', { retention: logRetention, removalPolicy });
    const image =
      props.image ??
      ecs.ContainerImage.fromAsset(findDockerDirectory(props.dockerDirectory), {
        file: 'docker/Dockerfile',
        platform: Platform.LINUX_ARM64,
      });

    const container = taskDefinition.addContainer('enlarger', {
      image,
      essential: true,
      readonlyRootFilesystem: true,
      user: '10001:10001',
      portMappings: [{ containerPort: CONTAINER_PORT, protocol: ecs.Protocol.TCP }],
      logging: ecs.LogDrivers.awsLogs({ logGroup: serviceLogGroup, streamPrefix: 'enlarger' }),
      environment: {
        ENLARGER_BACKEND: 'aws',
        ENLARGER_LISTEN: `0.0.0.0:${CONTAINER_PORT}`,
        AWS_REGION: Aws.REGION,
        ENLARGER_ORIGINALS_BUCKET: props.originalsBucket.bucketName,
        ENLARGER_THUMBNAILS_BUCKET: this.thumbnailsBucket.bucketName,
        ENLARGER_OPTIMIZED_BUCKET: this.optimizedBucket.bucketName,
        ENLARGER_RENDER_BUCKET: this.renderCacheBucket.bucketName,
        ENLARGER_TABLE: props.photosTable.tableName,
        ENLARGER_TABLE_KEY: tableKey,
        ENLARGER_JOBS: String(jobsForCpu(cpu)),
        // The bound on variants per photo, explicit in the template.
        ENLARGER_RENDER_WIDTHS: (props.renderWidths ?? defaultRenderWidths(findDockerDirectory(undefined))).join(','),
        ENLARGER_PROCESS_QUEUE_TIMEOUT_MS: String(PROCESS_QUEUE_TIMEOUT_MS),
      },
      secrets: {
        ...taskSecrets(this.apiKeySecret, this.originSecret, props.secretRotation),
        ...(this.renderSigningKey
          ? { ENLARGER_RENDER_SIGNING_KEY: ecs.Secret.fromSecretsManager(this.renderSigningKey) }
          : {}),
      },
      // Liveness, the same probe as the Dockerfile's HEALTHCHECK (ECS ignores that one).
      healthCheck: {
        command: ['CMD', 'curl', '-fsS', '-o', '/dev/null', `http://127.0.0.1:${CONTAINER_PORT}/healthz`],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(20),
      },
      // A render may take up to CloudFront's 30 s; let in-flight requests finish on SIGTERM.
      stopTimeout: Duration.seconds(35),
    });
    // Root filesystem is read-only; libvips spills very large images to TMPDIR.
    container.addMountPoints({ containerPath: '/tmp', sourceVolume: 'tmp', readOnly: false });
    // Pulling from ECR (an image asset, or an ECR image passed in) adds
    // ecr:GetAuthorizationToken, which IAM grants only on "*".
    const executionPolicy = taskDefinition.executionRole?.node.tryFindChild('DefaultPolicy');
    if (executionPolicy) {
      acknowledgeResourceStarOnlyActions(
        executionPolicy,
        'ecr:GetAuthorizationToken has no resource type in IAM and is granted on "*" only; the ' +
          'image pull itself (ecr:BatchGetImage, ecr:GetDownloadUrlForLayer) is limited to the repository.',
      );
    }
    Validations.of(taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds only non-secret configuration (bucket and table names, region, ' +
        'listen address); both secrets come from Secrets Manager through `secrets`.',
    });

    // IAM: exactly what the service does, nothing else (gallery-parts.ts).
    for (const statement of serviceStatements(props.originalsBucket, buckets, props.photosTable)) {
      taskDefinition.addToTaskRolePolicy(statement);
    }
    acknowledgeObjectArnWildcards(
      taskDefinition.taskRole.node.findChild('DefaultPolicy'),
      'S3 object actions need an object ARN: bucket/* on exactly the four buckets the service ' +
        'uses, each statement with only the actions it calls (see the Sids). No wildcard actions.',
    );

    // ---------------------------------------------------------------- ALB
    const albSg = new ec2.SecurityGroup(this, 'AlbSecurityGroup', {
      vpc,
      description: 'enlarger ALB: HTTPS from CloudFront and EventBridge API destinations',
      allowAllOutbound: false,
    });
    albSg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS (EventBridge has no prefix list)');
    Validations.of(albSg).acknowledge({
      id: 'AwsSolutions-EC23',
      reason:
        'EventBridge API destinations call from public EventBridge addresses with no managed prefix ' +
        'list, so 443 is open. The listener forwards only POST /process and GET /render/*; the ' +
        'service checks x-api-key on /process and x-origin-secret on /render, both from Secrets Manager.',
    });

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
      vpc,
      internetFacing: true,
      securityGroup: albSg,
      dropInvalidHeaderFields: true,
      // Above CloudFront's 30 s origin response timeout, so CloudFront, not the ALB, gives up.
      idleTimeout: Duration.seconds(35),
      deletionProtection: prod,
    });
    this.loadBalancer.logAccessLogs(logsBucket, 'alb');

    let certificate = props.originCertificate;
    if (!certificate) {
      if (!props.hostedZone) {
        throw new Error('ProcessingStack: give originCertificate, or hostedZone to issue one for originDomainName');
      }
      certificate = new acm.Certificate(this, 'OriginCertificate', {
        domainName: props.originDomainName,
        validation: acm.CertificateValidation.fromDns(props.hostedZone),
      });
    }
    if (props.hostedZone) {
      new route53.ARecord(this, 'OriginAlias', {
        zone: props.hostedZone,
        recordName: props.originDomainName,
        target: route53.RecordTarget.fromAlias(new route53Targets.LoadBalancerTarget(this.loadBalancer)),
      });
    }

    const listener = this.loadBalancer.addListener('Https', {
      port: 443,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      certificates: [certificate],
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      open: false,
      defaultAction: elbv2.ListenerAction.fixedResponse(404, { contentType: 'text/plain', messageBody: 'not found' }),
    });

    // Tasks: in from the ALB only (added by the target group), out on HTTPS only, plus the
    // ECS task credential endpoint. The subnets are isolated, so HTTPS reaches the VPC
    // endpoints and nothing else. (Naming the S3 and DynamoDB prefix lists instead of
    // 0.0.0.0/0 would need a lookup, i.e. an AWS call at synth time.)
    const taskSg = new ec2.SecurityGroup(this, 'TaskSecurityGroup', {
      vpc,
      description: 'enlarger tasks',
      allowAllOutbound: false,
    });
    taskSg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs');
    taskSg.addEgressRule(ec2.Peer.ipv4('169.254.170.2/32'), ec2.Port.tcp(80), 'ECS task role credentials');

    // The interface endpoints (one security group: HTTPS from the tasks only).
    const endpointSg = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc,
      description: 'enlarger interface endpoints: HTTPS from the tasks',
      allowAllOutbound: false,
    });
    endpointSg.addIngressRule(taskSg, ec2.Port.tcp(443), 'HTTPS from the tasks');
    const endpointAzs = props.endpointAzs ?? (prod ? 2 : 1);
    const endpointSubnets: ec2.SubnetSelection = {
      subnetType: ec2.SubnetType.PRIVATE_ISOLATED,
      availabilityZones: vpc.availabilityZones.slice(0, endpointAzs),
    };
    const interfaceEndpoints = {
      EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
      EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
      Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
      SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    };
    for (const [name, service] of Object.entries(interfaceEndpoints)) {
      vpc.addInterfaceEndpoint(name, {
        service,
        subnets: endpointSubnets,
        privateDnsEnabled: true,
        open: false,
        securityGroups: [endpointSg],
      });
    }

    const minTasks = props.minTasks ?? 1;
    this.service = new ecs.FargateService(this, 'Service', {
      cluster,
      taskDefinition,
      desiredCount: minTasks,
      assignPublicIp: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      circuitBreaker: { rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      healthCheckGracePeriod: Duration.seconds(60),
      enableExecuteCommand: false,
      securityGroups: [taskSg],
    });

    const targetGroup = new elbv2.ApplicationTargetGroup(this, 'Targets', {
      vpc,
      port: CONTAINER_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
      targets: [this.service.loadBalancerTarget({ containerName: 'enlarger', containerPort: CONTAINER_PORT })],
      deregistrationDelay: Duration.seconds(35),
      // Liveness, like the container check: a task that answers keeps its place. /readyz
      // (the store and the table answer too) would mark every task unhealthy during a short
      // S3 or DynamoDB outage, and ECS would replace all of them at once, dropping the work in
      // flight; /process answers 503 (retried by EventBridge) during such an outage instead.
      healthCheck: {
        path: '/healthz',
        protocol: elbv2.Protocol.HTTP,
        healthyHttpCodes: '200',
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
    });
    listener.addAction('Process', {
      priority: 10,
      conditions: [elbv2.ListenerCondition.pathPatterns(['/process']), elbv2.ListenerCondition.httpRequestMethods(['POST'])],
      action: elbv2.ListenerAction.forward([targetGroup]),
    });
    listener.addAction('Render', {
      priority: 20,
      conditions: [elbv2.ListenerCondition.pathPatterns(['/render/*']), elbv2.ListenerCondition.httpRequestMethods(['GET', 'HEAD'])],
      action: elbv2.ListenerAction.forward([targetGroup]),
    });

    // ---------------------------------------------------------------- autoscaling
    // Three policies; Application Auto Scaling follows whichever asks for the most tasks
    // (docs/deploy.md, "Scaling and a bulk upload"):
    // - CPU target tracking: the steady state, and the only one that scales in.
    // - CPU step scaling on one 1-minute datapoint: a bulk upload pins every core of a task
    //   within seconds, and target tracking waits for three datapoints before it adds one.
    // - ALB requests per target: /render misses, which CloudFront can send faster than CPU
    //   reports. /process alone never reaches it: the API destination sends at most
    //   invocationRateLimitPerSecond (10/s = 600/min) in all.
    const scaling = this.service.autoScaleTaskCount({ minCapacity: minTasks, maxCapacity: props.maxTasks ?? 10 });
    scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: props.targetCpuPercent ?? 60,
      scaleOutCooldown: Duration.seconds(60),
      scaleInCooldown: Duration.seconds(300),
    });
    const burstCpu = props.burstCpuPercent ?? 85;
    scaling.scaleOnMetric('CpuBurst', {
      metric: this.service.metricCpuUtilization({ period: Duration.minutes(1), statistic: cloudwatch.Stats.AVERAGE }),
      scalingSteps: [
        { lower: burstCpu, change: +1 },
        { lower: Math.max(burstCpu, 95), change: +2 },
      ],
      adjustmentType: autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      evaluationPeriods: 1,
      cooldown: Duration.seconds(60),
      metricAggregationType: autoscaling.MetricAggregationType.AVERAGE,
    });
    scaling.scaleOnRequestCount('Requests', {
      requestsPerTarget: props.targetRequestsPerTaskPerMinute ?? 600,
      targetGroup,
      scaleOutCooldown: Duration.seconds(60),
      scaleInCooldown: Duration.seconds(300),
    });

    // ---------------------------------------------------------------- EventBridge
    const connection = new events.Connection(this, 'ProcessConnection', {
      description: `enlarger ${props.stage}: ${API_KEY_HEADER} from Secrets Manager`,
      authorization: events.Authorization.apiKey(API_KEY_HEADER, sentSecret(this.apiKeySecret, props.secretRotation)),
    });
    const destination = new events.ApiDestination(this, 'ProcessDestination', {
      description: `enlarger ${props.stage}: POST /process`,
      connection,
      endpoint: `https://${props.originDomainName}/process`,
      httpMethod: events.HttpMethod.POST,
      rateLimitPerSecond: props.invocationRateLimitPerSecond ?? 10,
    });

    this.deadLetterQueue = deadLetterQueue(
      this,
      props.stage,
      'This queue is itself the dead-letter queue of the EventBridge rule target.',
    );

    this.rule = originalEventsRule(this, props.stage, props.originalsBucket);
    this.rule.addTarget(
      new targets.ApiDestination(destination, {
        // The whole event is the body (the service parses the S3 "Object Created" and
        // "Object Deleted" shapes).
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 185,
        maxEventAge: Duration.hours(24),
      }),
    );

    // ---------------------------------------------------------------- alarms
    // Every alarm notifies one topic: the gallery's (alarmTopic), or one created here that
    // alarmEmails subscribe to (docs/deploy.md, "Alarms" says what each one means).
    const alarms = new Alarms(this, props.stage, props.alarmTopic, props.alarmEmails);
    this.alarmTopic = alarms.topic;
    this.alarms = alarms.all;
    const alarm = (id: string, alarmProps: cloudwatch.AlarmProps) => alarms.add(id, alarmProps);
    const atLeastOne = Alarms.AT_LEAST_ONE;

    this.deadLetterAlarm = alarm('ProcessDeadLetterAlarm', {
      alarmDescription: `enlarger ${props.stage}: originals EventBridge could not deliver to /process (see the DLQ)`,
      metric: queueDepthMetric(this.deadLetterQueue),
      ...atLeastOne,
    });
    alarm('RuleFailedInvocationsAlarm', {
      alarmDescription:
        `enlarger ${props.stage}: EventBridge gave up on an event for /process (a 4xx other than 429, ` +
        'or retries exhausted); it is in the DLQ unless InvocationsFailedToBeSentToDlq fired too',
      metric: ruleMetric(this.rule, 'FailedInvocations'),
      ...atLeastOne,
    });
    alarm('RuleDlqSendFailedAlarm', {
      alarmDescription: `enlarger ${props.stage}: EventBridge could not put a failed event in the DLQ: that event is lost`,
      metric: ruleMetric(this.rule, 'InvocationsFailedToBeSentToDlq'),
      ...atLeastOne,
    });
    // A share, not a count: a bulk upload makes many requests, and a few 503s (job queue
    // full, retried by EventBridge) are the service's back-pressure, not an outage.
    alarm('Target5xxAlarm', {
      alarmDescription: `enlarger ${props.stage}: more than 5 % of the tasks' answers were 5xx for 10 of the last 15 minutes`,
      metric: new cloudwatch.MathExpression({
        label: 'target 5xx %',
        expression: 'IF(FILL(requests, 0) >= 20, 100 * FILL(errors, 0) / requests, 0)',
        usingMetrics: {
          errors: targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, {
            period: Duration.minutes(5),
            statistic: cloudwatch.Stats.SUM,
          }),
          requests: targetGroup.metrics.requestCount({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
        },
        period: Duration.minutes(5),
      }),
      threshold: 5,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    alarm('UnhealthyHostsAlarm', {
      alarmDescription: `enlarger ${props.stage}: a task failed the ALB's /healthz check for 2 minutes`,
      metric: targetGroup.metrics.unhealthyHostCount({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 1,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
    // EventBridge counts a /process call that takes 5 s as failed; 4 s at p99 is the warning.
    alarm('TargetResponseTimeP99Alarm', {
      alarmDescription: `enlarger ${props.stage}: p99 of the tasks' response time above 4 s in 3 of 5 minutes (EventBridge gives up at 5 s)`,
      metric: targetGroup.metrics.targetResponseTime({ period: Duration.minutes(1), statistic: cloudwatch.Stats.p(99) }),
      threshold: 4,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });

    // ---------------------------------------------------------------- CloudFront
    const renderOrigin = new origins.HttpOrigin(props.originDomainName, {
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
      originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
      readTimeout: Duration.seconds(30),
      // Resolved by CloudFormation from Secrets Manager at deploy time: not in the template.
      customHeaders: { [ORIGIN_SECRET_HEADER]: sentSecret(this.originSecret, props.secretRotation).unsafeUnwrap() },
    });

    this.distribution = galleryDistribution(this, {
      stage: props.stage,
      buckets,
      renderOrigin,
      originProtection: 'the origin only answers with the secret header',
      corsAllowedOrigins: props.corsAllowedOrigins,
      priceClass: props.priceClass,
    });

    // The service invalidates this distribution's copies of a deleted or replaced photo
    // (ENLARGER_CDN_DISTRIBUTION_ID), allowed on this distribution only.
    if (props.invalidateCdn ?? true) {
      container.addEnvironment('ENLARGER_CDN_DISTRIBUTION_ID', this.distribution.distributionId);
      taskDefinition.addToTaskRolePolicy(cdnInvalidationStatement(this.distribution));
    }

    // ---------------------------------------------------------------- outputs
    new CfnOutput(this, 'DistributionDomainName', { value: this.distribution.distributionDomainName });
    new CfnOutput(this, 'DistributionId', { value: this.distribution.distributionId });
    new CfnOutput(this, 'OriginEndpoint', { value: `https://${props.originDomainName}` });
    new CfnOutput(this, 'AlbDnsName', { value: this.loadBalancer.loadBalancerDnsName });
    new CfnOutput(this, 'ThumbnailsBucketName', { value: this.thumbnailsBucket.bucketName });
    new CfnOutput(this, 'OptimizedBucketName', { value: this.optimizedBucket.bucketName });
    new CfnOutput(this, 'RenderCacheBucketName', { value: this.renderCacheBucket.bucketName });
    new CfnOutput(this, 'ServiceLogGroupName', { value: serviceLogGroup.logGroupName });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'ProcessApiKeySecretArn', { value: this.apiKeySecret.secretArn });
    new CfnOutput(this, 'OriginSecretArn', { value: this.originSecret.secretArn });
    if (this.renderSigningKey) {
      new CfnOutput(this, 'RenderSigningKeySecretArn', { value: this.renderSigningKey.secretArn });
    }
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
  }
}
