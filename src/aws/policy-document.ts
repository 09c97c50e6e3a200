import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { Fn, TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';

/**
 * One statement of an IAM policy this library writes. Internal: every policy document goes
 * through `policyDocument`, so the synthesized JSON holds each policy as a structured
 * `aws_iam_policy_document` data source that tests can read statement by statement.
 */
export interface Statement {
  readonly sid: string;
  readonly effect?: 'Allow' | 'Deny';
  readonly actions: string[];
  /** Absent only in trust policies (the resource is the role itself). */
  readonly resources?: string[];
  readonly principals?: Array<{ type: string; identifiers: string[] }>;
  readonly conditions?: Array<{ test: string; variable: string; values: string[] }>;
}

/** Renders statements as an `aws_iam_policy_document` (evaluated locally, no AWS call). */
export function policyDocument(
  scope: Construct,
  id: string,
  statements: Statement[],
  provider?: TerraformProvider,
): DataAwsIamPolicyDocument {
  return new DataAwsIamPolicyDocument(scope, id, {
    provider,
    version: '2012-10-17',
    statement: statements.map((s) => ({
      sid: s.sid,
      effect: s.effect ?? 'Allow',
      actions: s.actions,
      resources: s.resources,
      principals: s.principals,
      condition: s.conditions,
    })),
  });
}

/**
 * A role's trust policy: the AWS service `service` (e.g. "ec2.amazonaws.com") may assume the
 * role, and nobody else.
 */
export function serviceTrustPolicy(
  scope: Construct,
  id: string,
  sid: string,
  service: string,
  provider?: TerraformProvider,
): DataAwsIamPolicyDocument {
  const statement: Statement = { sid, actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: [service] }] };
  return policyDocument(scope, id, [statement], provider);
}

/**
 * Denies every request to the bucket and its objects that does not use TLS (Security Hub
 * S3.5). The one statement where the library writes a wildcard action, `s3:*`, and a wildcard
 * principal: it is a Deny, so the wildcards widen what is refused, never what is allowed.
 */
export function denyInsecureTransport(bucketArn: string): Statement {
  return {
    sid: 'DenyInsecureTransport',
    effect: 'Deny',
    actions: ['s3:*'],
    resources: [bucketArn, `${bucketArn}/*`],
    principals: [{ type: '*', identifiers: ['*'] }],
    conditions: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
  };
}

/**
 * The account id in an ARN, as a Terraform expression. Taken from a resource of this stack
 * rather than from `data.aws_caller_identity`, which would call STS during every plan.
 */
export function accountOf(arn: string): string {
  return Fn.element(Fn.split(':', arn), 4);
}

/** The partition (`aws`, `aws-cn`, `aws-us-gov`) in an ARN, as a Terraform expression. */
export function partitionOf(arn: string): string {
  return Fn.element(Fn.split(':', arn), 1);
}
