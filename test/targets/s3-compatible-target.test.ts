import { Medium, Site, SiteKind, StorageTarget } from '../../src';
import { dbStack, dockerStack, sensitiveVariable, synthesizedDb } from '../support/synth';
import { bound } from './helpers';

function secretKey(stack = dockerStack()) {
  return sensitiveVariable(stack, 'b2_key');
}

describe('StorageTarget.s3Compatible', () => {
  test('a repository on the endpoint, credentials as environment and secret file, no AWS resources', () => {
    // WHEN
    const { json, sidecar, installer, plan } = synthesizedDb(
      dbStack({}, (stack) => ({
        targets: [
          StorageTarget.s3Compatible({
            endpoint: 'https://s3.eu-central-003.backblazeb2.com/',
            bucket: 'acme-backups',
            accessKeyId: '003a1b2c3d4e5f60000000001',
            secretAccessKey: secretKey(stack),
            region: 'eu-central-003',
            name: 'b2',
          }),
        ],
      })),
    );
    // THEN
    expect(plan.targets[0]).toMatchObject({
      name: 'b2',
      repository: 's3:https://s3.eu-central-003.backblazeb2.com/acme-backups/db',
      environment: { AWS_ACCESS_KEY_ID: '003a1b2c3d4e5f60000000001', AWS_DEFAULT_REGION: 'eu-central-003' },
      secretFiles: { AWS_SECRET_ACCESS_KEY: '/backup/install/secrets/target-1-aws-secret-access-key' },
    });
    expect(sidecar.env).toEqual(['BACKUP_PLAN=/backup/install/agent.json']);
    // uploaded to the one-shot installer (the sidecar's root is read-only), which installs it 0400
    expect(installer.upload).toContainEqual({ file: '/backup/staging/secrets/target-1-aws-secret-access-key', content: '${var.b2_key}', permissions: '0400' });
    expect(sidecar.upload).toBeUndefined();
    expect(Object.keys(json.resource).filter((t) => t.startsWith('aws_'))).toEqual([]);
  });

  test('defaults: object storage at a site named after the endpoint host, not immutable, prefix = container', () => {
    const config = bound(StorageTarget.s3Compatible({
      endpoint: 'https://minio.example.internal:9000',
      bucket: 'restic',
      accessKeyId: 'backup',
      secretAccessKey: secretKey(),
    }));
    expect(config).toMatchObject({
      name: 's3-compatible',
      repository: 's3:https://minio.example.internal:9000/restic/db',
      medium: Medium.OBJECT_STORAGE,
      immutable: false,
    });
    expect(config.site).toMatchObject({ kind: SiteKind.NAMED, name: 'minio.example.internal' });
    expect(config.environment).toEqual({ AWS_ACCESS_KEY_ID: 'backup' });
  });

  test('site, medium, immutability and prefix as declared', () => {
    const config = bound(StorageTarget.s3Compatible({
      endpoint: 'https://s3.eu-central-1.wasabisys.com',
      bucket: 'locked',
      accessKeyId: 'k',
      secretAccessKey: secretKey(),
      prefix: 'prod/db',
      site: Site.named('wasabi-eu-central-1'),
      medium: Medium.ARCHIVE,
      immutable: true,
    }));
    expect(config).toMatchObject({ repository: 's3:https://s3.eu-central-1.wasabisys.com/locked/prod/db', medium: Medium.ARCHIVE, immutable: true });
    expect(config.site.id).toBe('named:wasabi-eu-central-1');
  });

  test('a declared Object Lock period makes the target immutable and reaches the model; a period without a lock is refused', () => {
    const base = { endpoint: 'https://s3.eu-central-2.wasabisys.com', bucket: 'locked', accessKeyId: 'k', secretAccessKey: secretKey() };
    // WHEN
    const config = bound(StorageTarget.s3Compatible({ ...base, immutableRetentionDays: 400 }));
    // THEN
    expect(config).toMatchObject({ immutable: true, immutableRetentionDays: 400 });
    expect(bound(StorageTarget.s3Compatible({ ...base, immutable: true })).immutableRetentionDays).toBeUndefined();
    expect(() => StorageTarget.s3Compatible({ ...base, immutable: false, immutableRetentionDays: 30 })).toThrow(
      'StorageTarget.s3Compatible("https://s3.eu-central-2.wasabisys.com"): immutableRetentionDays is 30 but immutable is false: a lock period on a bucket that is not locked. Fix: remove `immutable: false` when the bucket has Object Lock, or remove `immutableRetentionDays` when it has none',
    );
    expect(() => StorageTarget.s3Compatible({ ...base, immutableRetentionDays: 0 })).toThrow(
      'StorageTarget.s3Compatible("https://s3.eu-central-2.wasabisys.com"): immutableRetentionDays must be a whole number from 1 to 36500, got 0',
    );
  });

  test('plain HTTP only when allowed', () => {
    const props = { endpoint: 'http://127.0.0.1:9000', bucket: 'restic', accessKeyId: 'k', secretAccessKey: secretKey() };
    expect(() => StorageTarget.s3Compatible(props)).toThrow(
      'StorageTarget.s3Compatible("http://127.0.0.1:9000"): the endpoint "http://127.0.0.1:9000" uses plain HTTP, so credentials and repository traffic would cross the network unprotected. Fix: serve the endpoint over TLS',
    );
    expect(bound(StorageTarget.s3Compatible({ ...props, allowPlainHttp: true })).repository).toBe(
      's3:http://127.0.0.1:9000/restic/db',
    );
  });

  test('refuses a literal secret key, a malformed endpoint, a bad bucket or prefix', () => {
    const base = { endpoint: 'https://minio.local', bucket: 'restic', accessKeyId: 'k', secretAccessKey: secretKey() };
    expect(() => StorageTarget.s3Compatible({ ...base, secretAccessKey: 'wJalrXUtnFEMI' })).toThrow(
      'StorageTarget.s3Compatible("https://minio.local"): secretAccessKey is a literal string, which would be written in plain text into cdk.tf.json and the Terraform plan. Fix: pass a sensitive TerraformVariable',
    );
    expect(() => StorageTarget.s3Compatible({ ...base, endpoint: 'minio.local:9000' })).toThrow('is not an absolute https:// URL without a path');
    expect(() => StorageTarget.s3Compatible({ ...base, endpoint: 'https://minio.local/bucket' })).toThrow('is not an absolute https:// URL without a path');
    expect(() => StorageTarget.s3Compatible({ ...base, bucket: 'a b' })).toThrow('"a b" is not a valid S3 bucket name');
    expect(() => bound(StorageTarget.s3Compatible({ ...base, prefix: 'x/../y' }))).toThrow(
      'the repository prefix "x/../y" is not a plain folder name',
    );
  });
});
