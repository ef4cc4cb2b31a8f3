/**
 * cdk-nag helpers shared by the stacks: acknowledgements that look at the finished policy,
 * so they cover exactly the findings they name and nothing a later change adds.
 */
import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { rules } from 'cdk-nag';
import { IConstruct } from 'constructs';

/** The L1 policy behind an iam.Policy, or the construct itself. */
function cfnOf(policy: iam.Policy | iam.CfnPolicy | IConstruct): CfnResource {
  return (policy instanceof iam.Policy ? policy.node.defaultChild : policy) as CfnResource;
}

/**
 * cdk-nag v3 matches IAM5 acknowledgements per finding ("Resource::<...>/*"), and a finding's
 * text is only final after synthesis resolved cross-stack references (Fn::ImportValue names).
 * So this adds a construct validation, which CDK runs after reference resolution and before
 * the policy-validation plugins, that acknowledges exactly the findings that are object ARNs
 * (`arn:...:bucket/*`, S3's only way to name "objects of this bucket"). Wildcard actions and
 * any other wildcard resource stay reported.
 */
export function acknowledgeObjectArnWildcards(policy: iam.Policy | iam.CfnPolicy | IConstruct, reason: string): void {
  const cfn = cfnOf(policy);
  cfn.node.addValidation({
    validate: () => {
      const findings = rules.iam.IAMNoWildcardPermissions(cfn);
      if (Array.isArray(findings)) {
        for (const finding of findings) {
          if (finding.startsWith('Resource::') && finding.endsWith('/*') && !finding.slice(10, -2).includes('*')) {
            Validations.of(cfn).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
          }
        }
      }
      return [];
    },
  });
}

/**
 * Actions that IAM only grants on `"Resource": "*"` (they have no resource type in the
 * Service Authorization Reference). `ecr:GetAuthorizationToken` is what ECS's execution role
 * needs to pull any image from ECR, including a CDK image asset.
 */
const RESOURCE_STAR_ONLY_ACTIONS = new Set(['ecr:GetAuthorizationToken']);

/**
 * Acknowledges `AwsSolutions-IAM5[Resource::*]` on a policy only while every statement that
 * allows something on `*` allows nothing but actions from RESOURCE_STAR_ONLY_ACTIONS. Checked
 * on the synthesised document, so a later `*` grant of anything else still fails the synth.
 */
export function acknowledgeResourceStarOnlyActions(policy: iam.Policy | iam.CfnPolicy | IConstruct, reason: string): void {
  const cfn = cfnOf(policy);
  cfn.node.addValidation({
    validate: () => {
      const doc = Stack.of(cfn).resolve((cfn as iam.CfnPolicy).policyDocument);
      const list = (x: unknown): unknown[] => (Array.isArray(x) ? x : [x]);
      const onStar = (doc?.Statement ?? []).filter(
        (s: any) => s.Effect === 'Allow' && list(s.Resource).some((r) => r === '*'),
      );
      const onlyAllowed = onStar.every((s: any) =>
        list(s.Action).every((a) => typeof a === 'string' && RESOURCE_STAR_ONLY_ACTIONS.has(a)),
      );
      if (onStar.length > 0 && onlyAllowed) {
        Validations.of(cfn).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason });
      }
      return [];
    },
  });
}
