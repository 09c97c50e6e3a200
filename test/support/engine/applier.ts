/**
 * THE applier of the real-engine tier (every e2e test and the bench use it): deploys the parsed
 * `cdk.tf.json` of a Docker-host stack (@cdktf/provider-docker 12.0.3 = kreuzwerker/docker 3.6.2)
 * on the tests' engine, from the JSON alone, in the provider's call order. No provider binary
 * exists here (DESIGN.md), so this is what `terraform apply` would do.
 *
 * Source read: kreuzwerker/terraform-provider-docker internal/provider/, the stored 3.x
 * resource_docker_container_funcs.go (container.StartOptions, `wait`, `cgroupns_mode`), which
 * predates PR #693 (upload `permissions`); that one rule follows 3.6.2's schema doc ("Has
 * precedence over `executable`"). resourceDockerContainerCreate:
 *  1. ContainerCreate(config, hostConfig, {}, name): `network_mode` if set, else the default
 *     bridge; `volumes` -> Config.Volumes + HostConfig.Binds "<volume_name|host_path>:<path>:rw|ro"
 *     (structures.go volumeSetToDockerVolumes); healthcheck durations by time.ParseDuration (ns);
 *     ports -> ExposedPorts "<internal>/<protocol>" + PortBindings; Init false; empty lists unset.
 *  2. `networks_advanced` set: NetworkDisconnect("bridge") ("is not connected" ignored), then
 *     NetworkConnect each (aliases, ipv4/ipv6): the container is on those networks only.
 *  3. each `upload`: CopyToContainer(id, "/", a tar of ONE entry named by the full path, uid/gid
 *     0, mtime now, mode `permissions` else 0744 if executable else 0644): so ANY read_only
 *     container fails with "container rootfs is marked read-only".
 *  4. ContainerStart unless `start = false`; `attach`: ContainerWait(not-running), the exit code
 *     only recorded (a failing one-shot does NOT fail the apply); then the read: not running
 *     (and not removed by `rm`) with `must_run` (default true) fails and deletes the container.
 * docker_volume (resource_docker_volume.go): VolumeCreate{Name, Driver, DriverOpts, Labels};
 * docker_network (resource_docker_network_funcs.go): NetworkCreate{Labels, Driver, Options,
 * Internal, Attachable, EnableIPv6, IPAM if ipam_* set}. Container delete: ContainerStop(t =
 * destroy_grace_seconds or 0; not for `attach`), ContainerRemove(force, volumes).
 *
 * Order: references and `depends_on`, topologically, the JSON's order among independent ones.
 * Resolved in every string: var, local, docker_volume|network|container.X.name|id,
 * data.terraform_remote_state.X.outputs.NAME, the agent plan's JSON-escaped embedding of one of
 * those (`trimsuffix(trimprefix(jsonencode(REF), ...))`, as Terraform evaluates it), escapes `$${` -> `${` and `%%{` -> `%{`; any other
 * expression, and any field not listed below, is an error naming it (nothing ignored). Test-only
 * overrides: `images` (reference -> stand-in tag), `hostPaths` (host path prefix -> a test folder;
 * an unmapped host path is an error, so nothing lands on the real host).
 */
import * as fs from 'fs';
import { DockerApi, DockerApiError } from './docker-api';
import { JSON_STRING_TOKEN, jsonStringValue } from '../sidecar-sandbox';

type J = any;
export interface ApplyOptions {
  readonly variables?: Record<string, unknown>;
  /** data.terraform_remote_state.<ID or its source stack name>.outputs.<NAME> -> value */
  readonly remoteState?: Record<string, Record<string, unknown>>;
  readonly images?: Record<string, string>;
  readonly hostPaths?: Record<string, string>;
  /** How long `attach` waits for a container to exit. @default 600000 */
  readonly attachTimeoutMs?: number;
  readonly api?: DockerApi;
  /**
   * Called after each resource is applied, before the next: a test's moment to put something
   * the deployment needs from outside onto a network it just made (e.g. an S3 stand-in that
   * the installer reaches when it initialises a repository).
   */
  readonly afterApply?: (address: string, applied: Applied) => Promise<void> | void;
}
/** A failed step, with the resource address and Docker's own message. */
export class ApplyError extends Error {
  constructor(public readonly address: string, public readonly step: string, public readonly dockerMessage: string) { super(`${address}: ${step}: ${dockerMessage}`); }
}
interface Res { readonly type: string; readonly id: string; readonly address: string; readonly body: J; deps: string[] }
export interface Applied { readonly address: string; readonly dockerId: string; readonly name: string; exitCode?: number; logs?: string }

const META = ['//', 'depends_on', 'lifecycle', 'provider'];
const FIELDS: Record<string, string[]> = {
  docker_volume: ['name', 'labels', 'driver', 'driver_opts'],
  docker_network: ['name', 'internal', 'driver', 'options', 'labels', 'attachable', 'ipv6', 'ipam_driver', 'ipam_config', 'ipam_options'],
  docker_container: ['name', 'image', 'entrypoint', 'command', 'env', 'hostname', 'user', 'working_dir', 'restart',
    'max_retry_count', 'read_only', 'security_opts', 'capabilities', 'tmpfs', 'mounts', 'volumes', 'networks_advanced',
    'network_mode', 'upload', 'healthcheck', 'labels', 'log_driver', 'log_opts', 'stop_timeout', 'attach', 'must_run',
    'start', 'rm', 'logs', 'ports', 'group_add', 'destroy_grace_seconds'],
};
const BLOCKS: Record<string, string[]> = {
  capabilities: ['add', 'drop'], healthcheck: ['test', 'interval', 'timeout', 'start_period', 'retries'],
  mounts: ['type', 'source', 'target', 'read_only'], volumes: ['host_path', 'volume_name', 'container_path', 'read_only'],
  networks_advanced: ['name', 'aliases', 'ipv4_address', 'ipv6_address'], ports: ['internal', 'external', 'ip', 'protocol'],
  upload: ['file', 'content', 'content_base64', 'source', 'source_hash', 'executable', 'permissions'],
  labels: ['label', 'value'], ipam_config: ['subnet', 'ip_range', 'gateway', 'aux_address'],
};
const empty = (v: J) => v === undefined || v === null || v === '' || v === false || v === 0 ||
  (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);
const list = (v: J): J[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
const one = (v: J): J => list(v)[0];
const labelMap = (v: J) => Object.fromEntries(list(v).map((l: J) => [l.label, l.value]));

function checkFields(address: string, body: J, allowed: string[], where = '') {
  for (const [k, v] of Object.entries(body ?? {})) {
    if (!allowed.includes(k) && !META.includes(k) && !empty(v)) {
      throw new ApplyError(address, 'parse', `field '${where}${k}' is not supported by the test applier (nothing is ignored silently)`);
    }
    if (BLOCKS[k] && allowed.includes(k)) list(v).forEach((b) => checkFields(address, b, BLOCKS[k], `${where}${k}.`));
  }
}

/** Terraform's template scan: escapes, `${expr}` (a lone one keeps its value's type), no `%{` directives. */
function interpolate(s: string, lookup: (expr: string) => J): J {
  let out = '';
  for (let i = 0; i < s.length;) {
    if (s.startsWith('$${', i) || s.startsWith('%%{', i)) { out += s[i] + '{'; i += 3; continue; }
    if (s.startsWith('%{', i)) throw new Error(`template directive '${s.slice(i, i + 30)}...' is not supported`);
    if (!s.startsWith('${', i)) { out += s[i++]; continue; }
    let depth = 1; let j = i + 2; let quote = false;
    for (; j < s.length && depth > 0; j++) {
      if (quote) { if (s[j] === '\\') j++; else if (s[j] === '"') quote = false; } else if (s[j] === '"') quote = true;
      else if (s[j] === '{') depth++; else if (s[j] === '}') depth--;
    }
    if (depth > 0) throw new Error(`unterminated expression in '${s.slice(i, i + 40)}'`);
    const value = lookup(s.slice(i + 2, j - 1).trim());
    if (i === 0 && j === s.length) return value;
    out += typeof value === 'string' ? value : JSON.stringify(value);
    i = j;
  }
  return out;
}
const deep = (v: J, f: (s: string) => J): J => (typeof v === 'string' ? f(v) : Array.isArray(v) ? v.map((x) => deep(x, f))
  : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(x, f)])) : v);

/** Go's time.ParseDuration, to nanoseconds ("60s", "1m30s", "1.5h"). */
function ns(d: J, address: string): number {
  if (empty(d)) return 0;
  const unit: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const parts = String(d).match(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g);
  if (!parts || parts.join('') !== String(d)) throw new ApplyError(address, 'parse', `duration '${d}' is not a Go duration (the provider would silently use 0s)`);
  return Math.round(parts.reduce((t, p) => { const [, n, u] = /^([\d.]+)(\D+)$/.exec(p)!; return t + Number(n) * unit[u]; }, 0));
}

/** One tar entry as Go's archive/tar writes it (USTAR, long names split into prefix/name). */
function tarOf(file: string, content: Buffer, mode: number): Buffer {
  const h = Buffer.alloc(512);
  let name = file; let prefix = '';
  if (Buffer.byteLength(name) > 100) { const cut = file.lastIndexOf('/', 155); prefix = file.slice(0, cut); name = file.slice(cut + 1); }
  const put = (s: string, off: number, len: number) => h.write(s, off, len, 'utf8');
  const oct = (n: number, off: number, len: number) => put(n.toString(8).padStart(len - 1, '0'), off, len - 1);
  put(name, 0, 100); oct(mode, 100, 8); oct(0, 108, 8); oct(0, 116, 8); oct(content.length, 124, 12);
  oct(Math.floor(Date.now() / 1000), 136, 12); put('        ', 148, 8); put('0', 156, 1); put('ustar\x0000', 257, 8); put(prefix, 345, 155);
  let sum = 0; for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([h, content, pad, Buffer.alloc(1024)]);
}

/** Docker's multiplexed log stream (no TTY) to text. */
function demux(b: Buffer): string {
  const out: Buffer[] = [];
  for (let i = 0; i + 8 <= b.length;) {
    if (b[i] > 2 || b[i + 1] || b[i + 2] || b[i + 3]) return b.toString('utf8');
    const n = b.readUInt32BE(i + 4); out.push(b.subarray(i + 8, i + 8 + n)); i += 8 + n;
  }
  return Buffer.concat(out).toString('utf8');
}

export class Deployment {
  /** Resource address ("docker_container.ID") -> what the engine made, in apply order. */
  public readonly applied = new Map<string, Applied>();
  constructor(private readonly json: J, private readonly resources: Res[], private readonly options: ApplyOptions, private readonly api: DockerApi) {}

  /** The Docker ID of a container, by its name or its resource ID. */
  public containerId(nameOrId: string): string { return this.find(nameOrId, 'docker_container').dockerId; }
  /** The exit code an `attach` container ended with (recorded, as the provider's exit_code). */
  public exitCode(nameOrId: string): number | undefined { return this.find(nameOrId, 'docker_container').exitCode; }
  /** The addresses in the order they were applied. */
  public get order(): string[] { return [...this.applied.keys()]; }

  /** `terraform apply -replace`: the provider's delete, then create again. */
  public async reapply(nameOrId: string): Promise<void> {
    const a = this.find(nameOrId);
    const r = this.resources.find((x) => x.address === a.address)!;
    if (r.type !== 'docker_container') throw new Error(`reapply supports containers only, not ${r.address}`);
    await this.deleteContainer(r, a);
    await this.apply(r);
  }

  /** Containers (reverse order), then networks; volumes only when asked (`prevent_destroy`). */
  public async destroy(options: { volumes?: boolean } = {}): Promise<void> {
    const done = [...this.applied.values()].reverse();
    for (const type of ['docker_container', 'docker_network', 'docker_volume']) {
      for (const a of done.filter((x) => x.address.startsWith(`${type}.`))) {
        const r = this.resources.find((x) => x.address === a.address)!;
        if (type === 'docker_container') await this.deleteContainer(r, a);
        if (type === 'docker_network') await this.api.call('DELETE', `/networks/${a.dockerId}`, { accept: [404] });
        if (type === 'docker_volume' && options.volumes) await this.api.call('DELETE', `/volumes/${a.name}?force=true`, { accept: [404] });
        if (type !== 'docker_volume' || options.volumes) this.applied.delete(a.address);
      }
    }
  }

  /** @internal */
  public async apply(r: Res): Promise<void> {
    let b: J;
    try {
      b = deep(Object.fromEntries(Object.entries(r.body).filter(([k]) => k !== '//' && k !== 'lifecycle')), (s) => interpolate(s, (e) => this.lookup(e)));
    } catch (e) { throw e instanceof ApplyError ? e : new ApplyError(r.address, 'resolve', (e as Error).message); }
    const step = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
      try { return await f(); } catch (e) { throw new ApplyError(r.address, name, e instanceof DockerApiError ? e.dockerMessage : (e as Error).message); }
    };
    if (r.type === 'docker_volume') {
      await step('VolumeCreate', () => this.api.call('POST', '/volumes/create', { body: { Name: b.name, Driver: b.driver, DriverOpts: b.driver_opts, Labels: labelMap(b.labels) } }));
      this.applied.set(r.address, { address: r.address, dockerId: b.name, name: b.name });
    } else if (r.type === 'docker_network') {
      const ipamSet = !empty(b.ipam_driver) || !empty(b.ipam_config) || !empty(b.ipam_options);
      const ipam = ipamSet ? { Driver: b.ipam_driver, Options: b.ipam_options, Config: list(b.ipam_config).map((c: J) => ({ Subnet: c.subnet, IPRange: c.ip_range, Gateway: c.gateway, AuxAddress: c.aux_address })) } : undefined;
      const res = await step('NetworkCreate', () => this.api.call('POST', '/networks/create', {
        body: { Name: b.name, CheckDuplicate: false, Driver: b.driver, Options: b.options, Internal: !!b.internal, Attachable: !!b.attachable, EnableIPv6: !!b.ipv6, IPAM: ipam, Labels: labelMap(b.labels) },
      }));
      this.applied.set(r.address, { address: r.address, dockerId: res.json().Id, name: b.name });
    } else {
      await this.createContainer(r, b, step);
    }
  }

  private async createContainer(r: Res, c: J, step: <T>(name: string, f: () => Promise<T>) => Promise<T>) {
    if (list(c.command).some((x: J) => x === '')) throw new ApplyError(r.address, 'parse', 'values for command may not be empty');
    const exposed: J = {}; const bindings: J = {}; const volumes: J = {}; const binds: string[] = [];
    for (const p of list(c.ports)) {
      const key = `${p.internal}/${p.protocol ?? 'tcp'}`; exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: p.ip ?? '0.0.0.0', HostPort: p.external ? String(p.external) : '' });
    }
    for (const v of list(c.volumes)) {
      if (!v.container_path) throw new ApplyError(r.address, 'parse', 'Volume entry without container path or source container');
      const source = v.volume_name || (v.host_path ? this.hostPath(v.host_path, r) : '');
      volumes[v.container_path] = {};
      if (source) binds.push(`${source}:${v.container_path}:${v.read_only ? 'ro' : 'rw'}`);
    }
    const hc = one(c.healthcheck); const caps = one(c.capabilities);
    const body = {
      Image: this.options.images?.[c.image] ?? c.image, Hostname: c.hostname ?? '', Tty: false, OpenStdin: false,
      StopTimeout: c.stop_timeout, Env: c.env, Cmd: c.command, Entrypoint: c.entrypoint, User: c.user, WorkingDir: c.working_dir,
      ExposedPorts: empty(exposed) ? undefined : exposed, Volumes: empty(volumes) ? undefined : volumes, Labels: labelMap(c.labels),
      Healthcheck: hc && { Test: hc.test, Interval: ns(hc.interval, r.address), Timeout: ns(hc.timeout, r.address), StartPeriod: ns(hc.start_period, r.address), Retries: hc.retries ?? 0 },
      HostConfig: {
        Privileged: false, PublishAllPorts: false, RestartPolicy: { Name: c.restart ?? 'no', MaximumRetryCount: c.max_retry_count ?? 0 },
        Mounts: list(c.mounts).map((m: J) => ({ Type: m.type, Target: m.target, Source: m.type === 'bind' ? this.hostPath(m.source, r) : m.source ?? '', ReadOnly: !!m.read_only })),
        AutoRemove: !!c.rm, ReadonlyRootfs: !!c.read_only, LogConfig: { Type: c.log_driver ?? '', Config: c.log_opts },
        Tmpfs: c.tmpfs, PortBindings: empty(bindings) ? undefined : bindings, Binds: binds.length ? binds : undefined,
        CapAdd: caps?.add, CapDrop: caps?.drop, SecurityOpt: c.security_opts, NetworkMode: c.network_mode, GroupAdd: c.group_add, Init: false,
      },
      NetworkingConfig: {},
    };
    // 1. ContainerCreate
    const id: string = (await step('ContainerCreate', () => this.api.call('POST', `/containers/create?name=${encodeURIComponent(c.name)}`, { body }))).json().Id;
    const applied: Applied = { address: r.address, dockerId: id, name: c.name };
    this.applied.set(r.address, applied);
    // 2. networks_advanced: off the default bridge, onto each listed network
    if (list(c.networks_advanced).length > 0) {
      await step('NetworkDisconnect bridge', () => this.api.call('POST', '/networks/bridge/disconnect', { body: { Container: id, Force: false } })).catch((e: ApplyError) => {
        if (!/is not connected to the network bridge/.test(e.dockerMessage)) throw e;
      });
      for (const n of list(c.networks_advanced)) {
        await step(`NetworkConnect ${n.name}`, () => this.api.call('POST', `/networks/${encodeURIComponent(n.name)}/connect`, {
          body: { Container: id, EndpointConfig: { Aliases: n.aliases, IPAMConfig: { IPv4Address: n.ipv4_address ?? '', IPv6Address: n.ipv6_address ?? '' } } },
        }));
      }
    }
    // 3. uploads: one tar per file, copied to "/"
    for (const u of list(c.upload)) {
      const given = ['content', 'content_base64', 'source'].filter((k) => !empty(u[k]));
      if (given.length !== 1) throw new ApplyError(r.address, 'upload', `exactly one of 'content', 'content_base64', 'source' must be set (${u.file})`);
      const data = u.content_base64 ? Buffer.from(u.content_base64, 'base64') : u.source ? fs.readFileSync(u.source) : Buffer.from(u.content, 'utf8');
      if (!empty(u.permissions) && !/^0?[0-7]{3,4}$/.test(u.permissions)) throw new ApplyError(r.address, 'upload', `permissions '${u.permissions}' is not an octal mode`);
      const mode = !empty(u.permissions) ? parseInt(u.permissions, 8) : u.executable ? 0o744 : 0o644;
      await step(`CopyToContainer ${u.file}`, () => this.api.call('PUT', `/containers/${id}/archive?path=%2F`, { body: tarOf(u.file, data, mode) }));
    }
    // 4. ContainerStart, attach, then the read's must_run
    if (c.start === false) return;
    await step('ContainerStart', () => this.api.call('POST', `/containers/${id}/start`));
    if (c.attach) {
      const wait = await step('ContainerWait', () => this.api.call('POST', `/containers/${id}/wait?condition=not-running`, { timeoutMs: this.options.attachTimeoutMs ?? 600000, accept: [404] }));
      if (wait.status === 200) applied.exitCode = wait.json().StatusCode;
      if (c.logs) applied.logs = await this.logs(id);
    } else {
      await new Promise((res) => setTimeout(res, 100));
    }
    const inspect = await this.api.call('GET', `/containers/${id}/json`, { accept: [404] });
    if (inspect.status === 404) return; // removed by `rm`: the read drops it from state, no error
    const state = inspect.json().State;
    if (!state.Running && c.must_run !== false) {
      const logs = await this.logs(id);
      await this.deleteContainer(r, applied);
      throw new ApplyError(r.address, 'must_run', `container failed to be in running state (exit code ${state.ExitCode}${state.Error ? `, ${state.Error}` : ''}); its logs:\n${logs}`);
    }
  }

  private async deleteContainer(r: Res, a: Applied) {
    if (!r.body.attach) await this.api.call('POST', `/containers/${a.dockerId}/stop?t=${r.body.destroy_grace_seconds ?? 0}`, { accept: [304, 404] });
    await this.api.call('DELETE', `/containers/${a.dockerId}?v=1&force=1`, { accept: [404] });
    this.applied.delete(a.address);
  }

  private async logs(id: string): Promise<string> {
    const res = await this.api.request('GET', `/containers/${id}/logs?stdout=1&stderr=1`);
    return res.status === 200 ? demux(res.body) : `(no logs: ${res.text()})`;
  }

  private lookup(expr: string): J {
    let m: RegExpExecArray | null;
    // A reference the agent's plan embeds in a JSON string, JSON-escaped (agent-plan.ts).
    if ((m = JSON_STRING_TOKEN.exec(expr))) {
      return jsonStringValue(String(this.lookup(m[1])));
    }
    if ((m = /^var\.([\w-]+)$/.exec(expr))) {
      if (!this.json.variable?.[m[1]]) throw new Error(`reference to undeclared variable '${m[1]}'`);
      const v = this.options.variables?.[m[1]] ?? this.json.variable[m[1]].default;
      if (v === undefined) throw new Error(`no value for variable '${m[1]}' (pass it in variables)`);
      return v;
    }
    if ((m = /^local\.([\w-]+)$/.exec(expr))) {
      if (!this.json.locals || !(m[1] in this.json.locals)) throw new Error(`reference to undeclared local '${m[1]}'`);
      return deep(this.json.locals[m[1]], (s) => interpolate(s, (e) => this.lookup(e)));
    }
    if ((m = /^data\.terraform_remote_state\.([\w-]+)\.outputs\.([\w-]+)$/.exec(expr))) {
      const rs = this.options.remoteState ?? {};
      const outputs = rs[m[1]] ?? rs[m[1].replace(/^cross-stack-reference-input-/, '')];
      if (!outputs || !(m[2] in outputs)) throw new Error(`no remote state output '${expr}' (pass it in remoteState)`);
      return outputs[m[2]];
    }
    if ((m = /^(docker_volume|docker_network|docker_container)\.([\w-]+)\.(name|id)$/.exec(expr))) {
      const a = this.applied.get(`${m[1]}.${m[2]}`);
      if (!a) throw new Error(`'${expr}' is referenced before ${m[1]}.${m[2]} was created`);
      return m[3] === 'name' ? a.name : a.dockerId;
    }
    throw new Error(`expression '\${${expr}}' is not supported by the test applier`);
  }

  private hostPath(p: string, r: Res): string {
    const keys = Object.keys(this.options.hostPaths ?? {}).filter((k) => p === k || p.startsWith(`${k.replace(/\/$/, '')}/`));
    const k = keys.sort((x, y) => y.length - x.length)[0];
    if (k === undefined) throw new ApplyError(r.address, 'parse', `host path '${p}' is not mapped: pass hostPaths { '${p}': <a folder of the test> }`);
    return this.options.hostPaths![k] + p.slice(k.length);
  }

  private find(nameOrId: string, type?: string): Applied {
    const a = [...this.applied.values()].find((x) => (!type || x.address.startsWith(`${type}.`)) && (x.name === nameOrId || x.address.endsWith(`.${nameOrId}`)));
    if (a) return a;
    throw new Error(`no applied ${type ?? 'resource'} named '${nameOrId}' (applied: ${this.order.join(', ')})`);
  }
}

/** Parses, orders and applies the stack; on a failure, destroys what it made (volumes kept) and throws. */
export async function applyStack(json: J, options: ApplyOptions = {}): Promise<Deployment> {
  const resources: Res[] = [];
  for (const [type, byId] of Object.entries<J>(json.resource ?? {})) {
    if (!FIELDS[type]) throw new ApplyError(type, 'parse', `resource type '${type}' is not supported by the test applier`);
    for (const [id, body] of Object.entries<J>(byId)) {
      checkFields(`${type}.${id}`, body, FIELDS[type]);
      resources.push({ type, id, address: `${type}.${id}`, body, deps: [] });
    }
  }
  for (const type of Object.keys(json.data ?? {})) {
    if (type !== 'terraform_remote_state') throw new ApplyError(`data.${type}`, 'parse', `data source '${type}' is not supported by the test applier`);
  }
  const refs = (v: J, seen = new Set<string>()): string[] => {
    const found: string[] = [];
    deep(v, (s) => interpolate(s, (e) => {
      for (const m of e.matchAll(/\b(docker_(?:volume|network|container))\.([\w-]+)/g)) found.push(`${m[1]}.${m[2]}`);
      for (const m of e.matchAll(/\blocal\.([\w-]+)/g)) if (!seen.has(m[1])) { seen.add(m[1]); found.push(...refs(json.locals?.[m[1]], seen)); }
      return '';
    }));
    return found;
  };
  for (const r of resources) {
    try {
      const body = Object.fromEntries(Object.entries(r.body).filter(([k]) => k !== '//' && k !== 'lifecycle' && k !== 'depends_on'));
      r.deps = [...new Set([...refs(body), ...list(r.body.depends_on).filter((d: string) => !d.startsWith('data.'))])];
    } catch (e) { throw new ApplyError(r.address, 'parse', (e as Error).message); }
    const missing = r.deps.find((d) => !resources.some((x) => x.address === d));
    if (missing) throw new ApplyError(r.address, 'parse', `reference to undeclared resource '${missing}'`);
    // Terraform takes bare addresses here and refuses "${...}" ("Expected the start of an
    // expression"): checked with terraform validate, as cdktf renders a resource that way.
    for (const t of list(r.body.lifecycle?.replace_triggered_by)) {
      if (typeof t !== 'string' || !resources.some((x) => x.address === t)) {
        throw new ApplyError(r.address, 'parse', `lifecycle.replace_triggered_by entry ${JSON.stringify(t)} is not the bare address of a declared resource; Terraform refuses it`);
      }
    }
  }
  const ordered: Res[] = [];
  while (ordered.length < resources.length) {
    const next = resources.find((r) => !ordered.includes(r) && r.deps.every((d) => ordered.some((o) => o.address === d)));
    if (!next) throw new ApplyError('stack', 'parse', `dependency cycle among ${resources.filter((r) => !ordered.includes(r)).map((r) => r.address).join(', ')}`);
    ordered.push(next);
  }
  const deployment = new Deployment(json, ordered, options, options.api ?? DockerApi.forTestEngine());
  try {
    for (const r of ordered) {
      await deployment.apply(r);
      await options.afterApply?.(r.address, deployment.applied.get(r.address)!);
    }
  } catch (e) {
    await deployment.destroy().catch(() => undefined);
    throw e;
  }
  return deployment;
}
