/**
 * cdk-nag helpers shared by the stacks.
 */
import { CfnResource, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { rules } from 'cdk-nag';
import { IConstruct } from 'constructs';

/**
 * cdk-nag v3 matches IAM5 acknowledgements per finding ("Resource::<...>/*"), and a finding's
 * text is only final after synthesis resolved cross-stack references (Fn::ImportValue names).
 * So this adds a construct validation, which CDK runs after reference resolution and before
 * the policy-validation plugins, that acknowledges exactly the findings that are object ARNs
 * (`arn:...:bucket/*`, S3's only way to name "objects of this bucket"). Wildcard actions and
 * any other wildcard resource stay reported.
 */
export function acknowledgeObjectArnWildcards(policy: iam.Policy | iam.CfnPolicy | IConstruct, reason: string): void {
  const cfn = (policy instanceof iam.Policy ? policy.node.defaultChild : policy) as CfnResource;
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
