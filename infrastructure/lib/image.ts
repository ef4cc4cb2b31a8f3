/**
 * The container image from an ECR image URI (context imageUri), so the execution role can
 * pull exactly that repository (for ECS; and for Lambda, which also pulls from ECR only). The tasks reach AWS only through VPC endpoints, so an image
 * anywhere else (Docker Hub, public.ecr.aws, another region) would fail at deploy time:
 * refuse it at synth time instead.
 */
import { Arn, Stack, Token } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

const ECR_URI =
  /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([a-z0-9][a-z0-9._/-]*)(?::(\w[\w.-]{0,127}))?(?:@(sha256:[0-9a-f]{64}))?$/;

/** The repository and the tag or digest `uri` names; `stackRegion`, when known, must be the image's. */
function ecrRepositoryFromUri(
  scope: Construct,
  id: string,
  uri: string,
  stackRegion?: string,
): { repository: ecr.IRepository; tagOrDigest: string } {
  const m = ECR_URI.exec(uri);
  if (!m || (!m[4] && !m[5])) {
    throw new Error(
      `imageUri must be <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag> (or @sha256:<digest>), got ${uri}`,
    );
  }
  const [, account, region, repositoryName, tag, digest] = m;
  if (stackRegion && !Token.isUnresolved(stackRegion) && region !== stackRegion) {
    throw new Error(`imageUri is in ${region} but the stack in ${stackRegion}: copy the image to ECR in ${stackRegion}`);
  }
  const repository = ecr.Repository.fromRepositoryAttributes(scope, id, {
    repositoryName,
    repositoryArn: Arn.format({ service: 'ecr', account, region, resource: 'repository', resourceName: repositoryName }, Stack.of(scope)),
  });
  return { repository, tagOrDigest: digest ?? tag };
}

/** `uri` as an image of its ECR repository; `stackRegion`, when known, must be the image's. */
export function ecrImageFromUri(scope: Construct, id: string, uri: string, stackRegion?: string): ecs.ContainerImage {
  const { repository, tagOrDigest } = ecrRepositoryFromUri(scope, id, uri, stackRegion);
  return ecs.ContainerImage.fromEcrRepository(repository, tagOrDigest);
}

/**
 * The same for a Lambda function: Lambda, too, runs container images only from ECR in the
 * function's region. cmd: the image's command for the function (`lambda`).
 */
export function lambdaImageFromUri(
  scope: Construct,
  id: string,
  uri: string,
  cmd: string[],
  stackRegion?: string,
): lambda.DockerImageCode {
  const { repository, tagOrDigest } = ecrRepositoryFromUri(scope, id, uri, stackRegion);
  return lambda.DockerImageCode.fromEcr(repository, { tagOrDigest, cmd });
}
