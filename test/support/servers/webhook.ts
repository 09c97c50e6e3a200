/**
 * A failure webhook for the agent tests: an https server on 127.0.0.1 at a free port that
 * records every request and answers a chosen status, or never answers ('hang').
 *
 * Stand-in: Debian's busybox `ssl_client` (what the agent's `nc -e` + `ssl_client` uses here) is
 * busybox's own TLS, TLS 1.2 only, and verifies no certificate; so this server speaks TLS 1.2
 * with a self-signed certificate. In the official restic image (Alpine) `ssl_client` is
 * Alpine's helper, which verifies the certificate.
 */
import * as fs from 'fs';
import * as https from 'https';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { makeSelfSignedCertificate } from './s3-server';

export interface Hook {
  readonly requests: Array<{ method: string; url: string; contentType?: string; body: string }>;
  /** What to answer: a status, or 'hang' to never answer. */
  answer: number | 'hang';
  readonly port: number;
  close(): Promise<void>;
}

export async function webhook(): Promise<Hook> {
  const sockets = new Set<net.Socket>();
  const hook: any = { requests: [], answer: 200 };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webhook-'));
  makeSelfSignedCertificate(path.join(dir, 'key.pem'), path.join(dir, 'cert.pem'));
  const tls = { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')), maxVersion: 'TLSv1.2' as const, ciphers: 'DEFAULT@SECLEVEL=0' };
  fs.rmSync(dir, { recursive: true, force: true });
  const server = https.createServer(tls, (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      hook.requests.push({ method: req.method, url: req.url, contentType: req.headers['content-type'], body });
      if (hook.answer !== 'hang') {
        res.writeHead(hook.answer, { 'Content-Type': 'text/plain' });
        res.end('ok\n');
      }
    });
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hook.port = (server.address() as net.AddressInfo).port;
  hook.close = () =>
    new Promise<void>((resolve) => {
      sockets.forEach((s) => s.destroy());
      server.close(() => resolve());
    });
  return hook;
}

