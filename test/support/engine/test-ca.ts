/**
 * The tests' own certificate authority: one per engine run (files under the engine's folder,
 * so it goes away with the engine), made by the first worker that asks (a mkdir lock keeps
 * two workers from making two). The stand-in images that speak TLS (restic) trust it by
 * having it appended to their CA bundle; TLS servers in containers present certificates it
 * issues with `issueServerCertificate`.
 *
 * Go's TLS (restic, minio-go) checks subject alternative names only, never the common name,
 * and wants the CA marked `CA:TRUE` with `keyCertSign`: both are set here.
 */
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { currentEngine, RunningEngine } from './docker-engine';
import { withDirLockSync } from './rootfs';

/** The run's CA. */
export interface TestCa {
  /** PEM certificate: append it to a CA bundle, or pass to `--cacert`. */
  readonly certPath: string;
  readonly certPem: string;
  readonly keyPath: string;
}

/** A server certificate the test CA issued. */
export interface ServerCertificate {
  readonly certPath: string;
  readonly keyPath: string;
  /** PEM, leaf only. */
  readonly certPem: string;
  /** PEM (PKCS#8, EC P-256). */
  readonly keyPem: string;
  /** The names it is valid for. */
  readonly names: string[];
}

function caDir(engine: RunningEngine): string {
  return path.join(engine.dir, 'test-ca');
}

/** The run's test CA, made on first use. */
export function testCa(engine: RunningEngine = currentEngine()): TestCa {
  const dir = caDir(engine);
  const certPath = path.join(dir, 'ca.pem');
  const keyPath = path.join(dir, 'ca.key');
  if (!fs.existsSync(certPath)) {
    withDirLockSync(path.join(engine.dir, 'locks', 'test-ca'), () => {
      if (fs.existsSync(certPath)) {
        return;
      }
      fs.mkdirSync(dir, { recursive: true });
      const tmp = `${certPath}.${process.pid}.tmp`;
      execFileSync(
        'openssl',
        [
          'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
          '-keyout', keyPath, '-out', tmp, '-days', '3',
          '-subj', `/CN=cdktf-container-backup test CA ${path.basename(engine.dir)}`,
          '-addext', 'basicConstraints=critical,CA:TRUE',
          '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
        ],
        { stdio: 'pipe' },
      );
      fs.renameSync(tmp, certPath);
    });
  }
  return { certPath, keyPath, certPem: fs.readFileSync(certPath, 'utf8') };
}

/**
 * A certificate for a TLS server, valid for `names` (DNS names, wildcards like
 * `*.s3.eu-west-1.amazonaws.com`, or IP addresses), signed by the run's test CA.
 */
export function issueServerCertificate(names: string[], engine: RunningEngine = currentEngine()): ServerCertificate {
  if (names.length === 0) {
    throw new Error('issueServerCertificate needs at least one name');
  }
  const ca = testCa(engine);
  const dir = path.join(caDir(engine), 'issued', `${names[0].replace(/[^a-zA-Z0-9.-]/g, '_')}-${randomBytes(4).toString('hex')}`);
  fs.mkdirSync(dir, { recursive: true });
  const keyPath = path.join(dir, 'key.pem');
  const certPath = path.join(dir, 'cert.pem');
  const san = names.map((n) => (net.isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  // OpenSSL 3's `req -x509 -CA` signs with the CA directly (no CSR round trip).
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyPath, '-out', certPath, '-days', '2',
      '-CA', ca.certPath, '-CAkey', ca.keyPath,
      '-subj', `/CN=${names[0]}`,
      '-addext', `subjectAltName=${san}`,
      '-addext', 'basicConstraints=critical,CA:FALSE',
      '-addext', 'keyUsage=critical,digitalSignature',
      '-addext', 'extendedKeyUsage=serverAuth',
    ],
    { stdio: 'pipe' },
  );
  return {
    certPath,
    keyPath,
    certPem: fs.readFileSync(certPath, 'utf8'),
    keyPem: fs.readFileSync(keyPath, 'utf8'),
    names: [...names],
  };
}
