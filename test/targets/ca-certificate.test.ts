/**
 * A private CA per target (`caCertificate` on the REST and S3-compatible targets): PEM text,
 * a literal or a token, uploaded to the installer like the secrets and named to the agent in
 * the plan's `targets[i].caCertificateFile` (restic --cacert). The S3 target has none: AWS
 * endpoints present publicly trusted certificates. Append-only REST targets are announced in
 * `targets[i].appendOnly`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Fn } from 'cdktf';
import { StorageTarget } from '../../src';
import { makeSelfSignedCertificate } from '../support/servers/s3-server';
import { dbStack, dockerStack, sensitiveVariable, synthesizedDb } from '../support/synth';
import { bound } from './helpers';

function certificatePem(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-certificate-test-'));
  try {
    makeSelfSignedCertificate(path.join(dir, 'key.pem'), path.join(dir, 'cert.pem'));
    return fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('caCertificate and appendOnly on storage targets', () => {
  const pem = certificatePem();

  test('a literal PEM on a REST target and a token on an S3-compatible one: uploaded to the installer 0400, named in the plan', () => {
    // WHEN
    const { sidecar, installer, plan } = synthesizedDb(
      dbStack({}, (stack) => ({
        targets: [
          StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db' }),
          StorageTarget.restServer({ url: 'https://rest.office.internal:8000', caCertificate: pem, appendOnly: true }),
          StorageTarget.s3Compatible({
            endpoint: 'https://minio.office.internal:9000',
            bucket: 'restic',
            accessKeyId: 'backup',
            secretAccessKey: sensitiveVariable(stack, 'minio_key'),
            caCertificate: Fn.file('office-ca.pem'),
          }),
        ],
      })),
    );
    // THEN
    expect(plan.targets[1].appendOnly).toBe(true);
    expect(plan.targets[1].caCertificateFile).toBe('/backup/install/secrets/target-2-ca-certificate.pem');
    expect(plan.targets[2].caCertificateFile).toBe('/backup/install/secrets/target-3-ca-certificate.pem');
    // the local folder has neither, the S3-compatible service is not append-only
    expect(plan.targets[0]).toMatchObject({ appendOnly: false, caCertificateFile: null });
    expect(plan.targets[2].appendOnly).toBe(false);
    expect(sidecar.env).toEqual(['BACKUP_PLAN=/backup/install/agent.json']);
    expect(installer.upload).toContainEqual({ file: '/backup/staging/secrets/target-2-ca-certificate.pem', content: pem, permissions: '0400' });
    expect(installer.upload).toContainEqual({ file: '/backup/staging/secrets/target-3-ca-certificate.pem', content: '${file("office-ca.pem")}', permissions: '0400' });
    expect(sidecar.upload).toBeUndefined();
  });

  test('the bound config carries appendOnly and the certificate', () => {
    expect(bound(StorageTarget.restServer({ url: 'https://rest.local', appendOnly: true, caCertificate: pem }))).toMatchObject({
      appendOnly: true,
      immutable: true,
      caCertificate: pem,
    });
    const plain = bound(StorageTarget.restServer({ url: 'https://rest.local' }));
    expect(plain.appendOnly).toBe(false);
    expect(plain.caCertificate).toBeUndefined();
  });

  test('refuses a path instead of PEM text, and a certificate with its private key', () => {
    const key = sensitiveVariable(dockerStack(), 'k');
    expect(() => StorageTarget.restServer({ url: 'https://rest.local', caCertificate: '/etc/ssl/office-ca.pem' })).toThrow(
      'StorageTarget.restServer("https://rest.local"): caCertificate must be the PEM text of one or more CA certificates ("-----BEGIN CERTIFICATE-----" ... "-----END CERTIFICATE-----"), got "/etc/ssl/office-ca.pem". Fix: pass the certificate\'s text, not its path: e.g. fs.readFileSync("ca.pem", "utf8") or Fn.file("ca.pem")',
    );
    const withKey = `${pem}-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n`;
    const s3 = { endpoint: 'https://minio.local', bucket: 'restic', accessKeyId: 'k', secretAccessKey: key };
    expect(() => StorageTarget.s3Compatible({ ...s3, caCertificate: withKey })).toThrow(
      'StorageTarget.s3Compatible("https://minio.local"): caCertificate contains a private key ("PRIVATE KEY"), which would be written in plain text into cdk.tf.json and the Terraform state (the value is not shown here). Fix: pass only the CA certificate(s)',
    );
    // a bundle of two certificates is fine
    expect(() => StorageTarget.s3Compatible({ ...s3, caCertificate: pem + pem })).not.toThrow();
  });
});
