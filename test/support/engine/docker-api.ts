/**
 * The Docker Engine API over the tests' own daemon socket: plain HTTP on a unix socket, the
 * same calls the docker provider makes through the Go client (no CLI in between), so what a
 * test sees is what the engine answers.
 */
import * as http from 'http';
import { currentEngine } from './docker-engine';

/** One answer of the engine. */
export interface ApiResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** The body parsed as JSON. */
  json<T = any>(): T;
  /** The body as UTF-8 text (Docker's error answers are `{"message": ...}`). */
  text(): string;
}

/** Options of one request. */
export interface ApiRequestOptions {
  /** A JSON body (serialised here), or raw bytes (a tar archive). */
  readonly body?: unknown;
  /** @default 'application/json', or 'application/x-tar' for a Buffer body */
  readonly contentType?: string;
  /** Statuses that are not an error for `call` beyond 2xx. @default none */
  readonly accept?: number[];
  /** @default 120000 */
  readonly timeoutMs?: number;
  /** Extra request headers (e.g. `X-Registry-Auth`, which the Go client sends with a service create). */
  readonly headers?: Record<string, string>;
}

/** An error answer of the engine, with its status and Docker's message. */
export class DockerApiError extends Error {
  constructor(
    public readonly method: string,
    public readonly path: string,
    public readonly status: number,
    public readonly dockerMessage: string,
  ) {
    super(`${method} ${path}: ${status} ${dockerMessage}`);
  }
}

export class DockerApi {
  /** The API of the daemon the test run started (see docker-engine.ts). */
  public static forTestEngine(): DockerApi {
    return new DockerApi(currentEngine().socketPath);
  }

  constructor(public readonly socketPath: string) {}

  /** Sends one request; any status is returned. */
  public request(method: string, path: string, options: ApiRequestOptions = {}): Promise<ApiResponse> {
    let payload: Buffer | undefined;
    let contentType = options.contentType;
    if (Buffer.isBuffer(options.body)) {
      payload = options.body;
      contentType ??= 'application/x-tar';
    } else if (options.body !== undefined) {
      payload = Buffer.from(JSON.stringify(options.body));
      contentType ??= 'application/json';
    }
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          socketPath: this.socketPath,
          method,
          path,
          headers: {
            Host: 'docker',
            ...options.headers,
            ...(payload ? { 'Content-Type': contentType, 'Content-Length': payload.length } : {}),
          },
          timeout: options.timeoutMs ?? 120000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body,
              json: () => JSON.parse(body.toString('utf8')),
              text: () => body.toString('utf8'),
            });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer from the engine`)));
      req.on('error', reject);
      if (payload) {
        req.write(payload);
      }
      req.end();
    });
  }

  /** Sends one request and throws a DockerApiError unless the status is 2xx or accepted. */
  public async call(method: string, path: string, options: ApiRequestOptions = {}): Promise<ApiResponse> {
    const res = await this.request(method, path, options);
    if ((res.status < 200 || res.status > 299) && !(options.accept ?? []).includes(res.status)) {
      let message = res.text();
      try {
        message = res.json<{ message: string }>().message ?? message;
      } catch {
        // not JSON: keep the text
      }
      throw new DockerApiError(method, path, res.status, message.trim());
    }
    return res;
  }
}
