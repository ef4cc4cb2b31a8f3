/**
 * GalleryDataStack: stands in for the gallery's storage and database stacks when the
 * ProcessingStack is deployed on its own (bin/app.ts). With names given it imports the
 * existing originals bucket and photos table instead of creating them.
 */
import { Duration, RemovalPolicy, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface GalleryDataStackProps extends StackProps {
  readonly stage: string;
  /** Import this bucket instead of creating a stand-in. */
  readonly originalsBucketName?: string;
  /** Import this table instead of creating a stand-in. */
  readonly photosTableName?: string;
  /** Partition key of a stand-in table. @default 'photoId' */
  readonly photosTableKey?: string;
}

export class GalleryDataStack extends Stack {
  public readonly originalsBucket: s3.IBucket;
  public readonly photosTable: dynamodb.ITable;

  constructor(scope: Construct, id: string, props: GalleryDataStackProps) {
    super(scope, id, props);
    const removalPolicy = props.stage === 'prod' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    if (props.originalsBucketName) {
      this.originalsBucket = s3.Bucket.fromBucketName(this, 'Originals', props.originalsBucketName);
    } else {
      const bucket = new s3.Bucket(this, 'Originals', {
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        encryption: s3.BucketEncryption.S3_MANAGED,
        enforceSSL: true,
        versioned: true,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycleRules: [
          { abortIncompleteMultipartUploadAfter: Duration.days(1), noncurrentVersionExpiration: Duration.days(30) },
        ],
        removalPolicy,
      });
      Validations.of(bucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason: "Stand-in for the gallery's originals bucket; the real one's access logging belongs to the gallery's storage stack.",
      });
      this.originalsBucket = bucket;
    }

    if (props.photosTableName) {
      this.photosTable = dynamodb.Table.fromTableName(this, 'Photos', props.photosTableName);
    } else {
      this.photosTable = new dynamodb.TableV2(this, 'Photos', {
        partitionKey: { name: props.photosTableKey ?? 'photoId', type: dynamodb.AttributeType.STRING },
        billing: dynamodb.Billing.onDemand(),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        removalPolicy,
      });
    }
  }
}
