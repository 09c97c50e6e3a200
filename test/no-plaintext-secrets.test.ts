/**
 * No secret in plain text in any synthesized file of the default example: secrets are
 * sensitive variables or resource attributes, travel between stacks as sensitive outputs, and
 * reach the sidecar as uploaded files whose content is a single Terraform reference.
 */
import * as fs from 'fs';
import * as path from 'path';
import { synthesizeDefaultExample } from './aws/default-example';

const SECRET_NAME = /(password|passwd|secret|token|private_key)/i;
const SECRET_ENV = /(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY)/;
const ONE_REFERENCE = /^\$\{[^${}]+\}$/;
// What a leaked access key id, PEM key or AWS secret key (40 characters of base64 mixing
// upper case, lower case and digits) would look like
const LEAK_PATTERNS = [
  /AKIA[0-9A-Z]{16}/,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /(?<![A-Za-z0-9/+])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[0-9])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])/,
];

function filesBelow(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? filesBelow(full) : [full];
  });
}

describe('secrets in the synthesized default example', () => {
  const example = synthesizeDefaultExample();
  const stacks = { storage: example.storage, host: example.host };

  test.each(Object.keys(stacks))('%s: every secret-looking variable is sensitive', (name) => {
    const variables = Object.entries<any>((stacks as any)[name].variable ?? {});
    const secretVariables = variables.filter(([id]) => SECRET_NAME.test(id));
    expect(secretVariables.length).toBeGreaterThan(0);
    for (const [id, variable] of secretVariables) {
      expect({ id, sensitive: variable.sensitive }).toEqual({ id, sensitive: true });
    }
  });

  test('every output that carries a secret is sensitive', () => {
    const outputs = Object.entries<any>(example.storage.output ?? {});
    const secretOutputs = outputs.filter(([, o]) => /\.secret\b|\.value\b|password/i.test(o.value));
    expect(secretOutputs.length).toBeGreaterThanOrEqual(2);
    for (const [id, output] of secretOutputs) {
      expect({ id, sensitive: output.sensitive }).toEqual({ id, sensitive: true });
    }
  });

  test('every uploaded secret file is a single Terraform reference, never a value, uploaded with mode 0400', () => {
    // Only the one-shot installers get uploads (a sidecar's root is read-only); they stage the
    // secrets for /backup/install/secrets/ under /backup/staging/secrets/.
    const containers = Object.values<any>(example.host.resource.docker_container);
    expect(containers.filter((c) => c.read_only === true && (c.upload ?? []).length > 0).map((c) => c.name)).toEqual([]);
    const uploads = containers.flatMap((c) => c.upload ?? []);
    // every upload but the agent and its plans is a secret (the sidecar's, and the installer's
    // own init credentials); the plans name the secret files, and hold no secret themselves
    const PLANS = ['/backup/staging/agent.json', '/backup/staging/init-plan.json'];
    const secrets = uploads.filter((u) => u.file !== '/backup/staging/bin/backup-agent' && !PLANS.includes(u.file));
    const plans = uploads.filter((u) => PLANS.includes(u.file));
    expect(plans.length).toBeGreaterThanOrEqual(2);
    const secretReferences = secrets.map((u) => u.content);
    for (const plan of plans) {
      expect({ file: plan.file, secrets: secretReferences.filter((ref) => plan.content.includes(ref)) }).toEqual({ file: plan.file, secrets: [] });
    }
    expect(secrets.map((u) => u.file)).toEqual(
      expect.arrayContaining(['/backup/staging/secrets/repository-password', '/backup/staging/secrets/target-2-aws-secret-access-key']),
    );
    for (const upload of secrets) {
      expect({ file: upload.file, content: upload.content, permissions: upload.permissions }).toEqual({
        file: upload.file,
        content: expect.stringMatching(ONE_REFERENCE),
        permissions: '0400',
      });
    }
    // all of it staged in the installers' own roots
    expect(uploads.map((u) => u.file)).toContain('/backup/staging/bin/backup-agent');
    expect(uploads.filter((u) => !u.file.startsWith('/backup/staging/')).map((u) => u.file)).toEqual([]);
  });

  test('secret-looking environment variables hold references or point to files', () => {
    const env: string[] = Object.values<any>(example.host.resource.docker_container).flatMap((c) => c.env ?? []);
    for (const entry of env) {
      const [name, ...rest] = entry.split('=');
      if (SECRET_ENV.test(name) && !name.endsWith('_FILE')) {
        expect({ name, value: rest.join('=') }).toEqual({ name, value: expect.stringMatching(ONE_REFERENCE) });
      }
    }
  });

  test('the escrowed password is stored from the variable, as a SecureString', () => {
    const parameters = Object.values<any>(example.storage.resource.aws_ssm_parameter);
    expect(parameters).toHaveLength(1);
    expect(parameters[0].type).toBe('SecureString');
    expect(parameters[0].value).toMatch(/^\$\{var\.[a-z_]+\}$/);
  });

  test('no file of the synth output contains anything shaped like a key', () => {
    const files = filesBelow(example.outdir);
    expect(files.length).toBeGreaterThan(2);
    for (const file of files) {
      // the uploaded agent script is code, not a secret: judge the JSON without it
      const text = fs.readFileSync(file, 'utf8').replace(/": "#!\/bin\/sh[\s\S]*?(?<!\\)"/g, '": "<agent>"');
      for (const pattern of LEAK_PATTERNS) {
        expect({ file: path.relative(example.outdir, file), match: pattern.exec(text)?.[0] }).toEqual({
          file: path.relative(example.outdir, file),
          match: undefined,
        });
      }
    }
  });
});
