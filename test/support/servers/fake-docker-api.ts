/**
 * A fake Docker Engine API for the quiesce tests: the few endpoints the agent calls through
 * the socket proxy, with Docker's status codes, on 127.0.0.1 at a free port. It keeps each
 * container's state (running, stopped, paused), records every call in order, and can be told
 * to fail an endpoint (any status) or to hang on it (never answer) for the next N calls.
 *
 * Endpoints (an optional `/v1.xx` prefix is accepted, as Docker does):
 * - POST /containers/{name}/stop?t=N  204 stopped; 304 not running; 404 no such container
 * - POST /containers/{name}/start     204 started; 304 already running
 * - POST /containers/{name}/pause     204; 409 not running or already paused
 * - POST /containers/{name}/unpause   204; 409 not paused
 * - POST /containers/{name}/exec      201 {"Id"}; 409 not running. Body {"Cmd": [...], ...}
 * - POST /exec/{id}/start             200, the command's output as Docker's multiplexed raw
 *                                     stream (8-byte frame headers), after `execDurationMs`;
 *                                     `execEffect` runs as it starts (what the command does,
 *                                     e.g. write a dump into the volume's host folder)
 * - GET  /exec/{id}/json              200 {"Running": false, "ExitCode": execExitCode}
 */
import { randomBytes } from 'crypto';
import * as http from 'http';
import * as net from 'net';

export type ContainerState = 'running' | 'stopped' | 'paused';
export type Endpoint = 'stop' | 'start' | 'pause' | 'unpause' | 'exec-create' | 'exec-start' | 'exec-inspect';

export interface DockerCall {
  readonly method: string;
  readonly path: string;
  readonly endpoint: Endpoint | 'unknown';
  readonly container?: string;
  readonly body: string;
  readonly contentType?: string;
  /** The status answered; undefined while it hangs. */
  status?: number;
  /** Date.now() when the request arrived. */
  readonly at: number;
}

interface Fault {
  remaining: number;
  status?: number;
  hang?: boolean;
}

export class FakeDockerApi {
  /** Starts the server with these containers, all running. */
  public static async start(containers: string[] = ['db']): Promise<FakeDockerApi> {
    const api = new FakeDockerApi(containers);
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
    return api;
  }

  /** Every call, in the order they arrived. */
  public readonly calls: DockerCall[] = [];
  /** The exit code GET /exec/{id}/json reports. */
  public execExitCode = 0;
  /** How long the exec command "runs" before its stream ends. */
  public execDurationMs = 100;
  /** What the exec command "prints". */
  public execOutput = 'dump written\n';
  /**
   * What the exec command does, run when its start is called (before its stream ends): e.g.
   * write the dump into the host folder behind the container's volume. Nothing by default.
   */
  public execEffect: ((command: unknown, container: string) => void) | undefined;

  private readonly states = new Map<string, ContainerState>();
  private readonly faults = new Map<Endpoint, Fault>();
  private readonly execs = new Map<string, { container: string; cmd: unknown; running: boolean }>();
  private readonly sockets = new Set<net.Socket>();
  private readonly server: http.Server;

  private constructor(containers: string[]) {
    for (const c of containers) {
      this.states.set(c, 'running');
    }
    this.server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => this.handle(req, res, body));
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  /** The URL for the plan's `quiesce.dockerApi`. */
  public get url(): string {
    const { port } = this.server.address() as net.AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  public state(container: string): ContainerState | undefined {
    return this.states.get(container);
  }

  public setState(container: string, state: ContainerState): void {
    this.states.set(container, state);
  }

  /** The next `times` calls of `endpoint` answer `status` and change nothing. */
  public fail(endpoint: Endpoint, status = 500, times = 1): void {
    this.faults.set(endpoint, { remaining: times, status });
  }

  /** The next `times` calls of `endpoint` never get an answer. */
  public hang(endpoint: Endpoint, times = Number.MAX_SAFE_INTEGER): void {
    this.faults.set(endpoint, { remaining: times, hang: true });
  }

  /** The calls as "endpoint status" strings, e.g. ['stop 204', 'start 204']. */
  public summary(): string[] {
    return this.calls.map((c) => `${c.endpoint} ${c.status ?? 'hung'}`);
  }

  public async close(): Promise<void> {
    this.sockets.forEach((s) => s.destroy());
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const url = new URL(req.url ?? '/', 'http://docker');
    const p = url.pathname.replace(/^\/v[\d.]+(?=\/)/, '');
    let m: RegExpExecArray | null;
    let endpoint: Endpoint | 'unknown' = 'unknown';
    let container: string | undefined;
    let execId: string | undefined;
    if (req.method === 'POST' && (m = /^\/containers\/([^/]+)\/(stop|start|pause|unpause|exec)$/.exec(p))) {
      container = decodeURIComponent(m[1]);
      endpoint = m[2] === 'exec' ? 'exec-create' : (m[2] as Endpoint);
    } else if (req.method === 'POST' && (m = /^\/exec\/([0-9a-f]+)\/start$/.exec(p))) {
      endpoint = 'exec-start';
      execId = m[1];
    } else if (req.method === 'GET' && (m = /^\/exec\/([0-9a-f]+)\/json$/.exec(p))) {
      endpoint = 'exec-inspect';
      execId = m[1];
    }
    const call: DockerCall = {
      method: req.method ?? '?',
      path: req.url ?? '/',
      endpoint,
      container: container ?? (execId ? this.execs.get(execId)?.container : undefined),
      body,
      contentType: req.headers['content-type'],
      at: Date.now(),
    };
    this.calls.push(call);
    const answer = (status: number, json?: unknown) => {
      call.status = status;
      if (json === undefined) {
        res.writeHead(status);
        res.end();
      } else {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(json));
      }
    };
    if (endpoint === 'unknown') {
      answer(404, { message: `page not found: ${req.method} ${p}` });
      return;
    }
    const fault = this.faults.get(endpoint);
    if (fault && fault.remaining > 0) {
      fault.remaining -= 1;
      if (fault.hang) {
        return; // never answer; close() destroys the socket
      }
      answer(fault.status ?? 500, { message: `injected failure of ${endpoint}` });
      return;
    }
    if (container !== undefined && !this.states.has(container)) {
      answer(404, { message: `No such container: ${container}` });
      return;
    }
    const state = container !== undefined ? this.states.get(container)! : undefined;
    if (execId !== undefined && !this.execs.has(execId)) {
      answer(404, { message: `No such exec instance: ${execId}` });
      return;
    }
    const exec = execId !== undefined ? this.execs.get(execId)! : undefined;
    switch (endpoint) {
      case 'stop':
        if (state === 'stopped') {
          answer(304);
        } else {
          this.states.set(container!, 'stopped');
          answer(204);
        }
        return;
      case 'start':
        if (state === 'stopped') {
          this.states.set(container!, 'running');
          answer(204);
        } else {
          answer(304);
        }
        return;
      case 'pause':
        if (state !== 'running') {
          answer(409, { message: `Container ${container} is ${state === 'paused' ? 'already paused' : 'not running'}` });
        } else {
          this.states.set(container!, 'paused');
          answer(204);
        }
        return;
      case 'unpause':
        if (state !== 'paused') {
          answer(409, { message: `Container ${container} is not paused` });
        } else {
          this.states.set(container!, 'running');
          answer(204);
        }
        return;
      case 'exec-create': {
        if (state !== 'running') {
          answer(409, { message: `Container ${container} is not running` });
          return;
        }
        let cmd: unknown;
        try {
          cmd = JSON.parse(body).Cmd;
        } catch {
          answer(400, { message: 'invalid JSON' });
          return;
        }
        const id = randomBytes(32).toString('hex');
        this.execs.set(id, { container: container!, cmd, running: false });
        answer(201, { Id: id });
        return;
      }
      case 'exec-start': {
        exec!.running = true;
        this.execEffect?.(exec!.cmd, exec!.container);
        call.status = 200;
        res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
        const payload = Buffer.from(this.execOutput);
        const header = Buffer.alloc(8);
        header[0] = 1; // stdout
        header.writeUInt32BE(payload.length, 4);
        res.write(Buffer.concat([header, payload]));
        setTimeout(() => {
          exec!.running = false;
          res.end();
        }, this.execDurationMs);
        return;
      }
      case 'exec-inspect':
        answer(200, { ID: execId, Running: exec!.running, ExitCode: exec!.running ? null : this.execExitCode, ProcessConfig: { entrypoint: exec!.cmd } });
        return;
    }
  }
}
