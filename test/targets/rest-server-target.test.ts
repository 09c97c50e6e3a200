import { TerraformStack, TerraformVariable } from 'cdktf';
import { Medium, Site, SiteKind, StorageTarget } from '../../src';
import { dbStack, dockerStack, sensitiveVariable, synthesizedDb } from '../support/synth';
import { bound } from './helpers';

describe('StorageTarget.restServer', () => {
  test('a rest: repository under the container name, the user as environment, the password as a secret file', () => {
    // WHEN
    const { sidecar, installer, plan } = synthesizedDb(
      dbStack({}, (stack) => ({
        targets: [
          StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db' }),
          StorageTarget.restServer({
            url: 'https://backup.example.internal:8000/',
            username: 'db-host',
            password: sensitiveVariable(stack, 'rest_password'),
            name: 'office-rest',
          }),
        ],
      })),
    );
    // THEN
    expect(plan.targets[1]).toMatchObject({
      name: 'office-rest',
      repository: 'rest:https://backup.example.internal:8000/db',
      environment: { RESTIC_REST_USERNAME: 'db-host' },
      secretFiles: { RESTIC_REST_PASSWORD: '/backup/install/secrets/target-2-restic-rest-password' },
    });
    expect(sidecar.env).toEqual(['BACKUP_PLAN=/backup/install/agent.json']);
    // uploaded to the one-shot installer (the sidecar's root is read-only), which installs it 0400
    expect(installer.upload).toContainEqual({ file: '/backup/staging/secrets/target-2-restic-rest-password', content: '${var.rest_password}', permissions: '0400' });
    expect(sidecar.upload).toBeUndefined();
    // the password appears nowhere but in its upload: not in the plan, not in the environment
    expect(installer.upload.filter((u: any) => u.content.includes('var.rest_password')).map((u: any) => u.file)).toEqual([
      '/backup/staging/secrets/target-2-restic-rest-password',
    ]);
    expect(JSON.stringify(sidecar.env)).not.toContain('var.rest_password');
  });

  test('defaults: NAS at a site named after the URL host, not immutable, no credentials', () => {
    const config = bound(StorageTarget.restServer({ url: 'https://backup.example.internal:8000' }));
    expect(config).toMatchObject({ name: 'rest', repository: 'rest:https://backup.example.internal:8000/db', medium: Medium.NAS, immutable: false });
    expect(config.site).toMatchObject({ kind: SiteKind.NAMED, name: 'backup.example.internal' });
    expect(config.environment).toBeUndefined();
    expect(config.secrets).toBeUndefined();
  });

  test('a base path, a repository path, append-only as the immutable copy, medium and site as declared', () => {
    const config = bound(StorageTarget.restServer({
      url: 'https://proxy.example.internal/restic/',
      repositoryPath: 'alice/db',
      appendOnly: true,
      medium: Medium.OBJECT_STORAGE,
      site: Site.named('dc2'),
    }));
    expect(config).toMatchObject({ repository: 'rest:https://proxy.example.internal/restic/alice/db', medium: Medium.OBJECT_STORAGE, immutable: true });
    expect(config.site.id).toBe('named:dc2');
  });

  test('a URL from a Terraform token, with its site given', () => {
    const url = (stack: TerraformStack) => new TerraformVariable(stack, 'rest_url', { type: 'string' }).stringValue;
    const { plan } = synthesizedDb(dbStack({}, (stack) => ({ targets: [StorageTarget.restServer({ url: url(stack), site: Site.named('dc2') })] })));
    expect(plan.targets[0].repository).toBe('rest:${var.rest_url}/db');
    expect(() => StorageTarget.restServer({ url: url(dockerStack()) })).toThrow(
      'StorageTarget.restServer(<token>): the URL is a Terraform token, so the site of the repository cannot be read from its host name. Fix: pass `site`',
    );
  });

  test('plain HTTP only when allowed', () => {
    expect(() => StorageTarget.restServer({ url: 'http://127.0.0.1:8000' })).toThrow(
      'StorageTarget.restServer("http://127.0.0.1:8000"): the endpoint "http://127.0.0.1:8000" uses plain HTTP',
    );
    expect(bound(StorageTarget.restServer({ url: 'http://127.0.0.1:8000', allowPlainHttp: true })).repository).toBe(
      'rest:http://127.0.0.1:8000/db',
    );
  });

  test('refuses credentials in the URL, a literal or lone password, a lone user, a bad URL or path', () => {
    const base = { url: 'https://rest.local' };
    // issue 22: its own message, the password masked (the earlier one printed it)
    expect(() => StorageTarget.restServer({ url: 'https://alice:secret@rest.local' })).toThrow(
      'StorageTarget.restServer("https://alice:***@rest.local"): the URL "https://alice:***@rest.local" carries credentials (user:password@), which would be written in plain text into cdk.tf.json, the agent\'s plan and its logs. Fix: take them out of the URL:',
    );
    expect(() => StorageTarget.restServer({ url: 'rest.local:8000' })).toThrow('is not an absolute https:// URL');
    expect(() => StorageTarget.restServer({ url: 'https://rest.local/?x=1' })).toThrow('is not an absolute https:// URL');
    expect(() => StorageTarget.restServer({ url: 'ftp://rest.local' })).toThrow('is not an absolute https:// URL');
    expect(() => StorageTarget.restServer({ ...base, username: 'alice', password: 'hunter2' })).toThrow(
      'StorageTarget.restServer("https://rest.local"): password is a literal string, which would be written in plain text into cdk.tf.json',
    );
    expect(() => StorageTarget.restServer({ ...base, username: 'alice' })).toThrow(
      'StorageTarget.restServer("https://rest.local"): username is set but password is not; the REST server\'s basic authentication needs both. Fix: set password as well',
    );
    expect(() => StorageTarget.restServer({ ...base, password: sensitiveVariable(dockerStack(), 'rest_password') })).toThrow('password is set but username is not');
    expect(() => bound(StorageTarget.restServer({ ...base, repositoryPath: '../etc' }))).toThrow(
      'the repository prefix "../etc" is not a plain folder name',
    );
  });
});
