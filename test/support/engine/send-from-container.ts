/**
 * Raw HTTP requests sent from inside a container's network namespace, as a process in that
 * container would send them: the host's node runs there (`nsenter -t <container pid> -n`; the
 * files stay the host's, the network is the container's) and sends each request over a fresh
 * TCP connection, reading until the first final answer is complete or the server closes.
 * Hundreds of requests cost one process, where `docker exec ... nc` costs one each (and busybox
 * nc waits out its -w timeout on a connection the server keeps open).
 *
 * The container's names are not resolvable there (the host's resolv.conf, not Docker's
 * embedded DNS): address the server by the IP `containerIp` reads from the engine.
 */
import { spawnSync } from 'child_process';
import { docker, RunningEngine } from './docker-engine';

/** The sender, run by node in the container's network namespace: base64 requests on stdin, JSON answers out. */
const SENDER = `
const net = require('net');
const [host, port] = process.argv.slice(1);
const complete = (raw, toHead) => {
  raw = raw.replace(/^(HTTP\\/1\\.[01] 1\\d\\d[^\\r\\n]*\\r\\n(?:[^\\r\\n]+\\r\\n)*\\r\\n)+/, '');
  const split = raw.indexOf('\\r\\n\\r\\n');
  const length = /^content-length: *(\\d+)/im.exec(raw.slice(0, split));
  return split >= 0 && length !== null && raw.length >= split + 4 + (toHead ? 0 : Number(length[1]));
};
const send = (bytes) => new Promise((resolve) => {
  const chunks = [];
  const socket = net.connect(Number(port), host, () => socket.write(bytes));
  const done = () => {
    clearTimeout(timer);
    const raw = Buffer.concat(chunks).toString('latin1').replace(/^(HTTP\\/1\\.[01] 1\\d\\d[^\\r\\n]*\\r\\n(?:[^\\r\\n]+\\r\\n)*\\r\\n)+/, '');
    const m = /^HTTP\\/1\\.[01] (\\d{3})/.exec(raw);
    resolve({ status: m ? Number(m[1]) : 0, raw: raw.slice(0, 400) });
  };
  const timer = setTimeout(() => socket.destroy(), 10000);
  socket.on('data', (d) => {
    chunks.push(d);
    if (complete(Buffer.concat(chunks).toString('latin1'), bytes.subarray(0, 5).toString('latin1') === 'HEAD ')) socket.destroy();
  });
  socket.on('error', () => undefined);
  socket.on('close', done);
});
let input = '';
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', async () => {
  const answers = [];
  for (const b64 of JSON.parse(input)) answers.push(await send(Buffer.from(b64, 'base64')));
  process.stdout.write(JSON.stringify(answers));
});
`;

/** One answer: the final status (0 when none came) and the first 400 characters of it. */
export interface ContainerAnswer {
  readonly status: number;
  readonly raw: string;
}

/** The IP address of `container` on `network`. */
export function containerIp(engine: RunningEngine, container: string, network: string): string {
  const inspected = JSON.parse(docker(engine, ['inspect', container]).stdout)[0];
  const ip = inspected?.NetworkSettings?.Networks?.[network]?.IPAddress;
  if (!ip) {
    throw new Error(`${container} has no address on network ${network}`);
  }
  return ip;
}

/** The pid of `container`'s first process, whose network namespace `sendFromNetworkOf` enters. */
export function containerPid(engine: RunningEngine, container: string): number {
  const pid = JSON.parse(docker(engine, ['inspect', container]).stdout)[0]?.State?.Pid;
  if (!pid) {
    throw new Error(`${container} is not running: no network namespace to send from`);
  }
  return pid;
}

/**
 * Sends each request, one after the other, from the network namespace of process `pid` (a
 * container's, `containerPid`) to host:port; the answers in order.
 */
export function sendFromNetworkOf(pid: number, host: string, port: number, requests: Buffer[]): ContainerAnswer[] {
  const r = spawnSync('nsenter', ['-t', String(pid), '-n', '--', process.execPath, '-e', SENDER, host, String(port)], {
    input: JSON.stringify(requests.map((b) => b.toString('base64'))),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) {
    throw new Error(`sending from the network of pid ${pid} failed (${r.status}): ${r.stderr}`);
  }
  return JSON.parse(r.stdout);
}
