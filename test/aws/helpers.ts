import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { App, TerraformStack, Testing } from 'cdktf';

/** A fresh stack with a default AWS provider in `region`, as a cloud-account stack would have. */
export function awsStack(region: string = 'eu-west-1', id: string = 'storage'): TerraformStack {
  const app = Testing.app();
  const stack = new TerraformStack(app, id);
  new AwsProvider(stack, 'aws', { region });
  return stack;
}

/** The app of a stack made by `awsStack`. */
export function appOf(stack: TerraformStack): App {
  return stack.node.root as App;
}

/** Synthesizes a stack and returns the parsed cdk.tf.json. */
export function synthJson(stack: TerraformStack): any {
  return JSON.parse(Testing.synth(stack));
}

/** The resources of one type in synthesized JSON, keyed by logical id. */
export function resourcesOf(json: any, type: string): Record<string, any> {
  return json.resource?.[type] ?? {};
}

/** The one resource of `type` whose logical id contains `idPart`. */
export function resourceNamed(json: any, type: string, idPart: string): any {
  const matches = Object.entries(resourcesOf(json, type)).filter(([id]) => id.includes(idPart));
  if (matches.length !== 1) {
    throw new Error(`expected one ${type} with "${idPart}" in its id, found ${matches.map(([id]) => id).join(', ') || 'none'}`);
  }
  return matches[0][1];
}

/**
 * The policy of an agent's IAM user (`backup-agent`) or initializer (`restic-init`): a managed
 * policy named after the user (an inline one would exceed IAM's 2,048 characters).
 */
export function userPolicy(json: any, kind: 'backup-agent' | 'restic-init'): any {
  const matches = Object.values<any>(resourcesOf(json, 'aws_iam_policy')).filter((p) => String(p.name).startsWith(`${kind}-`));
  if (matches.length !== 1) {
    throw new Error(`expected one ${kind} policy, found ${matches.length}`);
  }
  return matches[0];
}

/** The logical id of a `${type.id.attr}` reference's target, e.g. `aws_s3_bucket.x.id` -> `x`. */
export function referencedId(reference: string, type: string): string {
  const match = new RegExp(`\\$\\{${type}\\.([^.}]+)\\.`).exec(reference);
  if (!match) {
    throw new Error(`${reference} is no reference to a ${type}`);
  }
  return match[1];
}

/** The statements of the aws_iam_policy_document a `${data.aws_iam_policy_document.x.json}` names. */
export function policyStatements(json: any, reference: string): any[] {
  const id = referencedId(reference, 'data.aws_iam_policy_document');
  const document = json.data?.aws_iam_policy_document?.[id];
  if (!document) {
    throw new Error(`no aws_iam_policy_document ${id}`);
  }
  return document.statement;
}

/**
 * The one statement of a role's trust policy that lets the AWS service `service` assume it, as
 * synthesized (src/aws/policy-document.ts, serviceTrustPolicy).
 */
export function serviceTrust(sid: string, service: string): any {
  return { sid, effect: 'Allow', actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: [service] }] };
}

/** One statement by Sid. */
export function statement(statements: any[], sid: string): any {
  const found = statements.find((s) => s.sid === sid);
  if (!found) {
    throw new Error(`no statement ${sid}; have ${statements.map((s) => s.sid).join(', ')}`);
  }
  return found;
}

/** A resource that belongs to the bucket whose logical id is `bucketId` (via `bucket = ${aws_s3_bucket.<id>.id}`). */
export function forBucket(json: any, type: string, bucketId: string): any[] {
  return Object.values(resourcesOf(json, type)).filter((r: any) => r.bucket === `\${aws_s3_bucket.${bucketId}.id}`);
}
