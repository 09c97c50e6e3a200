/**
 * IAM refuses a policy longer than its quota (IAM User Guide, "IAM and AWS STS quotas": a
 * managed policy 6,144 characters, a role's inline policies 10,240 in all, a user's inline
 * policies 2,048 in all; white space not counted), and `terraform plan` cannot tell: the
 * documents are read at apply, when the bucket and key ARNs are known. So each policy document
 * of the default example is rendered here as IAM receives it, with the longest values its
 * references can take (a 63-character bucket name, a KMS key ARN, an RFC 3339 time), and
 * measured against the quota of what carries it.
 */
import { AgentCredentials, AgentIdentity, BackupBucket, OffsiteReplica } from '../../src';
import { synthesizeDefaultExample } from './default-example';
import { awsStack, synthJson } from './helpers';

const BUCKET_ARN = `arn:aws:s3:::${'b'.repeat(63)}`;
const KEY_ARN = 'arn:aws:kms:eu-central-1:123456789012:key/0b1d9e1e-5c9a-4c7e-9f3a-2d1c0e9b8a7f';
const ROLE_ARN = `arn:aws:iam::123456789012:role/${'r'.repeat(64)}`;

/** The longest value each kind of reference in a policy document can take. */
function longestValue(reference: string): string {
  if (/^aws_s3_bucket\.[^.]+\.arn$/.test(reference)) return BUCKET_ARN;
  if (/^aws_kms_key\.[^.]+\.arn$/.test(reference)) return KEY_ARN;
  if (/^aws_iam_role\.[^.]+\.arn$/.test(reference)) return ROLE_ARN;
  if (/^timeadd\(/.test(reference)) return '2026-12-31T23:59:59Z';
  throw new Error(`no longest value for \${${reference}}: add one`);
}

const resolve = (text: string) => text.replace(/\$\{([^}]+(\([^)]*\))?[^}]*)\}/g, (_m, ref) => longestValue(ref));
const one = (values: string[]) => (values.length === 1 ? resolve(values[0]) : values.map(resolve));

/** An aws_iam_policy_document as the provider renders it for IAM, minified. */
function renderedLength(document: any): number {
  const statements = (document.statement as any[]).map((s) => ({
    ...(s.sid ? { Sid: s.sid } : {}),
    Effect: s.effect ?? 'Allow',
    ...(s.principals ? { Principal: Object.fromEntries(s.principals.map((p: any) => [p.type, one(p.identifiers)])) } : {}),
    ...(s.actions ? { Action: one(s.actions) } : {}),
    ...(s.not_actions ? { NotAction: one(s.not_actions) } : {}),
    ...(s.resources ? { Resource: one(s.resources) } : {}),
    ...(s.condition
      ? {
        Condition: (s.condition as any[]).reduce((c, x) => ({ ...c, [x.test]: { ...(c[x.test] ?? {}), [x.variable]: one(x.values) } }), {} as any),
      }
      : {}),
  }));
  return JSON.stringify({ Version: '2012-10-17', Statement: statements }).length;
}

/** The policy document data source a policy resource's `policy` references. */
function documentOf(json: any, policy: string): any {
  const id = /data\.aws_iam_policy_document\.([^.]+)\.json/.exec(policy)![1];
  return json.data.aws_iam_policy_document[id];
}

describe('every IAM policy of the default example fits its quota, with the longest values its references can take', () => {
  const { storage } = synthesizeDefaultExample();

  test.each(Object.entries<any>(storage.resource.aws_iam_policy ?? {}))('managed policy %s: at most 6,144 characters, with room to spare', (_id, policy) => {
    const length = renderedLength(documentOf(storage, policy.policy));
    expect(length).toBeLessThan(6144 * 0.75);
  });

  test('a user has no inline policy (a user\'s inline policies share 2,048 characters)', () => {
    expect(storage.resource.aws_iam_user_policy).toBeUndefined();
  });

  test("each role's inline policies: at most 10,240 characters in all", () => {
    const byRole = new Map<string, number>();
    for (const policy of Object.values<any>(storage.resource.aws_iam_role_policy ?? {})) {
      byRole.set(policy.role, (byRole.get(policy.role) ?? 0) + renderedLength(documentOf(storage, policy.policy)));
    }
    for (const [role, length] of byRole) {
      expect({ role, fits: length < 10240 * 0.75 }).toEqual({ role, fits: true });
    }
  });

  test("the agent's own document is longer than a user's inline quota: why it is a managed policy", () => {
    const agent = Object.values<any>(storage.resource.aws_iam_policy).find((p) => String(p.name).startsWith('backup-agent-'));
    expect(renderedLength(documentOf(storage, agent.policy))).toBeGreaterThan(2048);
  });
});

test("an instance profile's role carries the agent's document inline, within the role's quota", () => {
  const stack = awsStack('eu-west-1');
  const vault = new BackupBucket(stack, 'vault', { offsite: OffsiteReplica.inRegion('eu-central-1') });
  new AgentCredentials(stack, 'agent', { bucket: vault, containerNames: ['db', 'wordpress', 'gitea'], identity: AgentIdentity.INSTANCE_PROFILE });
  const json = synthJson(stack);
  const [policy] = Object.values<any>(json.resource.aws_iam_role_policy).filter((p) => p.name === 'backup-agent');
  expect(renderedLength(documentOf(json, policy.policy))).toBeLessThan(10240 * 0.75);
});
