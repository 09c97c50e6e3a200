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
 * Internal, Attachable, EnableIPv6, IPAM if ipam_* set} (driver `overlay` on a swarm manager; the
 * provider never sets Scope). Container delete: ContainerStop(t = destroy_grace_seconds or 0; not
 * for `attach`), ContainerRemove(force, volumes).
 *
 * Swarm (on a manager: pass its `api`; swarm.ts makes one). Sources: resource_docker_secret.go and
 * resource_docker_config.go @0d0232d4, resource_docker_service_funcs.go @2220d5b3 (create, read,
 * delete), resource_docker_service_structures.go @025b4015 (createServiceSpec), the schema
 * (defaults, ConflictsWith) in resource_docker_service.go @013b65e4, checked against the 3.6.2
 * bindings; moby client service_create.go (what the Go client adds). Facts: swarm-facts.md.
 * - docker_secret: `data` must be standard base64 (validateStringIsBase64Encoded refuses anything
 *   else at plan); SecretCreate{Name, Labels, Data = the decoded bytes, which JSON carries as
 *   base64 again}, then SecretInspectWithRaw. docker_config: ConfigCreate{Name, Data}, then
 *   ConfigInspectWithRaw. Neither has an update: a new name is a new object.
 * - docker_service: createServiceSpec (serviceSpec below; the SDK hands every nested field to it,
 *   set or not, so an unset `stop_grace_period` or restart `delay` is sent as 0, not left to the
 *   engine's default); the client's ServiceCreate tags an untagged image `:latest`, and with
 *   QueryRegistry first asks `GET /distribution/<image>/json` for a digest: skipped here (no
 *   registry is reachable; the engine answers "network is unreachable" in 0.01 s and the client
 *   only adds a warning, the image keeps its tag); POST /services/create with X-Registry-Auth;
 *   with `converge_config` only (a global service may not have one), poll the tasks until they
 *   run, else delete the service and fail (DidNotConvergeError); then the read: until the
 *   service exposes its endpoint mode. NOT the provider: after that, as a test convenience, the
 *   applier waits until the service's tasks run.
 *   Delete: with `stop_grace_period`, the task containers are listed first; ServiceRemove; then
 *   each listed container waited for (up to the grace period) and removed.
 * - Destroy: services first (and, not the provider, until their tasks and containers are gone),
 *   then containers, secrets, configs, networks, volumes (when asked).
 *
 * Order: references and `depends_on`, topologically, the JSON's order among independent ones.
 * Every string is parsed as a Terraform template, then evaluated (Expression below): escapes
 * `$${` -> `${` and `%%{` -> `%{`; literal text is NFC-normalized, as Terraform does; `${...}`
 * holds one expression: var.X, local.X, data.terraform_remote_state.X.outputs.NAME,
 * docker_volume|network|container|secret|config.X.name|id, string and number literals (quoted
 * strings are templates again, with HCL's backslash escapes), and the calls base64encode(S),
 * sha256(S), substr(S, OFFSET, LENGTH) (nested as deep as wanted) and the agent plan's
 * JSON-escaped embedding `trimsuffix(trimprefix(jsonencode(E), "\""), "\"")`, each as Terraform
 * evaluates it. Any other function, operator or reference, and any field not listed in FIELDS,
 * is an error naming it (nothing ignored). Engine templates such as `{{.Node.Hostname}}` are
 * plain text to Terraform and pass through. Test-only overrides: `images` (reference -> stand-in
 * tag), `hostPaths` (host path prefix -> a test folder; an unmapped host path is an error, so
 * nothing lands on the real host; for a service's bind mount the folder may hold an engine
 * template, e.g. `/tmp/x/{{.Node.Hostname}}`, which each node expands for its own tasks).
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import { DockerApi, DockerApiError } from './docker-api';
import { serviceTasks, until, waitForServiceGone, waitForServiceTasks } from './swarm';
import { jsonStringValue } from '../terraform-string';

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
/** The fields the applier implements, per resource type: `1` an attribute, an object a nested block's own fields. */
interface Fields { readonly [field: string]: 1 | Fields }
const LABELS: Fields = { label: 1, value: 1 };
const HEALTHCHECK: Fields = { test: 1, interval: 1, timeout: 1, start_period: 1, retries: 1 };
const fileRef = (kind: 'secret' | 'config'): Fields => ({ [`${kind}_id`]: 1, [`${kind}_name`]: 1, file_name: 1, file_uid: 1, file_gid: 1, file_mode: 1 });
const FIELDS: Record<string, Fields> = {
  docker_volume: { name: 1, labels: LABELS, driver: 1, driver_opts: 1 },
  docker_network: { name: 1, internal: 1, driver: 1, options: 1, labels: LABELS, attachable: 1, ipv6: 1, ipam_driver: 1,
    ipam_config: { subnet: 1, ip_range: 1, gateway: 1, aux_address: 1 }, ipam_options: 1 },
  docker_container: { name: 1, image: 1, entrypoint: 1, command: 1, env: 1, hostname: 1, user: 1, working_dir: 1, restart: 1,
    max_retry_count: 1, read_only: 1, security_opts: 1, capabilities: { add: 1, drop: 1 }, tmpfs: 1,
    mounts: { type: 1, source: 1, target: 1, read_only: 1 }, volumes: { host_path: 1, volume_name: 1, container_path: 1, read_only: 1 },
    networks_advanced: { name: 1, aliases: 1, ipv4_address: 1, ipv6_address: 1 }, network_mode: 1,
    upload: { file: 1, content: 1, content_base64: 1, source: 1, source_hash: 1, executable: 1, permissions: 1 },
    healthcheck: HEALTHCHECK, labels: LABELS, log_driver: 1, log_opts: 1, stop_timeout: 1, attach: 1, must_run: 1,
    start: 1, rm: 1, logs: 1, ports: { internal: 1, external: 1, ip: 1, protocol: 1 }, group_add: 1, destroy_grace_seconds: 1 },
  docker_secret: { name: 1, data: 1, labels: LABELS },
  docker_config: { name: 1, data: 1 },
  docker_service: {
    name: 1, labels: LABELS, mode: { global: 1, replicated: { replicas: 1 } }, endpoint_spec: { mode: 1 }, converge_config: { delay: 1, timeout: 1 },
    task_spec: {
      container_spec: {
        image: 1, command: 1, args: 1, env: 1, hostname: 1, user: 1, dir: 1, read_only: 1, stop_grace_period: 1, cap_add: 1, cap_drop: 1,
        healthcheck: HEALTHCHECK, secrets: fileRef('secret'), configs: fileRef('config'),
        mounts: { target: 1, source: 1, type: 1, read_only: 1, volume_options: { no_copy: 1, labels: LABELS, driver_name: 1, driver_options: 1 },
          tmpfs_options: { size_bytes: 1, mode: 1 } },
      },
      restart_policy: { condition: 1, delay: 1, max_attempts: 1, window: 1 }, placement: { constraints: 1, max_replicas: 1 },
      networks_advanced: { name: 1, aliases: 1 }, log_driver: { name: 1, options: 1 },
    },
  },
};
const empty = (v: J) => v === undefined || v === null || v === '' || v === false || v === 0 ||
  (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);
const list = (v: J): J[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
const one = (v: J): J => list(v)[0];
const labelMap = (v: J) => Object.fromEntries(list(v).map((l: J) => [l.label, l.value]));

function checkFields(address: string, body: J, allowed: Fields, where = '') {
  for (const [k, v] of Object.entries(body ?? {})) {
    const field = allowed[k];
    if (field === undefined && !META.includes(k) && !empty(v)) {
      throw new ApplyError(address, 'parse', `field '${where}${k}' is not supported by the test applier (nothing is ignored silently)`);
    }
    if (field !== undefined && field !== 1) list(v).forEach((b) => checkFields(address, b, field, `${where}${k}.`));
  }
}

// ---- Terraform expressions: a string is parsed as a template, then evaluated ----

/** A parsed template or expression, of the subset the header lists. */
type Expression =
  | { readonly kind: 'literal'; readonly value: string | number | boolean }
  | { readonly kind: 'template'; readonly parts: ReadonlyArray<string | { readonly expression: Expression; readonly source: string }> }
  | { readonly kind: 'reference'; readonly path: readonly string[] }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly Expression[] }
  /** `trimsuffix(trimprefix(jsonencode(E), "\""), "\"")`: E as a JSON string's content (agent-plan.ts embeds references so). */
  | { readonly kind: 'json-string'; readonly of: Expression };

/** Outside the subset: the message says what; the template adds which expression it was in. */
class Unsupported extends Error {}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*/;
const RESOURCE_REFERENCES = ['docker_volume', 'docker_network', 'docker_container', 'docker_secret', 'docker_config'];

/** A recursive-descent parser over one string (HCL's template and expression syntax, the subset above). */
class Parser {
  /** A string of the JSON configuration, as Terraform reads it: a template (JSON already undid the backslashes). */
  public static template(text: string): Expression {
    return new Parser(text).template(false);
  }

  private i = 0;
  private constructor(private readonly s: string) {}

  private template(quoted: boolean): Expression {
    const parts: Array<string | { expression: Expression; source: string }> = [];
    let text = '';
    const flush = () => { if (text) parts.push(text.normalize('NFC')); text = ''; };
    for (;;) {
      const c = this.s[this.i];
      if (c === undefined) { if (quoted) throw new Unsupported('a string literal is not terminated'); break; }
      if (quoted && c === '"') { this.i++; break; }
      if (this.s.startsWith('$${', this.i) || this.s.startsWith('%%{', this.i)) { text += `${c}{`; this.i += 3; continue; }
      if (this.s.startsWith('%{', this.i)) throw new Error(`template directive '${this.s.slice(this.i, this.i + 30)}...' is not supported`);
      if (quoted && c === '\\') { text += this.escape(); continue; }
      if (!this.s.startsWith('${', this.i)) { text += c; this.i++; continue; }
      flush();
      const start = this.i;
      try {
        this.i += 2;
        const expression = checked(this.expression());
        this.space();
        if (this.s[this.i] !== '}') throw new Unsupported(`'${this.s.slice(this.i, this.i + 12)}' (operators, conditionals, indexes and splats are not implemented)`);
        this.i++;
        parts.push({ expression, source: this.s.slice(start + 2, this.i - 1).trim() });
      } catch (e) {
        if (!(e instanceof Unsupported)) throw e;
        throw new Error(`expression '\${${extent(this.s, start)}}' is not supported by the test applier: ${e.message}`);
      }
    }
    flush();
    return { kind: 'template', parts };
  }

  private expression(): Expression {
    this.space();
    const rest = this.s.slice(this.i);
    if (rest[0] === '"') { this.i++; return this.template(true); }
    const number = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(rest);
    if (number) { this.i += number[0].length; return { kind: 'literal', value: Number(number[0]) }; }
    const name = IDENTIFIER.exec(rest)?.[0];
    if (!name) throw new Unsupported(rest ? `'${rest.slice(0, 12)}'` : 'an empty expression');
    this.i += name.length;
    if (name === 'true' || name === 'false') return { kind: 'literal', value: name === 'true' };
    this.space();
    if (this.s[this.i] === '(') {
      this.i++;
      const args: Expression[] = [];
      for (this.space(); this.s[this.i] !== ')'; this.space()) {
        args.push(this.expression());
        this.space();
        if (this.s[this.i] === ',') this.i++;
        else if (this.s[this.i] !== ')') throw new Unsupported(`'${this.s.slice(this.i, this.i + 12)}' in the arguments of ${name}()`);
      }
      this.i++;
      return { kind: 'call', name, args };
    }
    const path = [name];
    while (this.s[this.i] === '.') {
      const step = IDENTIFIER.exec(this.s.slice(this.i + 1))?.[0];
      if (!step) throw new Unsupported(`'${this.s.slice(this.i, this.i + 12)}' after ${path.join('.')}`);
      path.push(step);
      this.i += 1 + step.length;
    }
    return { kind: 'reference', path };
  }

  /** HCL's escapes in a quoted string: \n \r \t \" \\ \uNNNN \UNNNNNNNN. */
  private escape(): string {
    const c = this.s[this.i + 1];
    const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };
    if (c in simple) { this.i += 2; return simple[c]; }
    const hex = c === 'u' ? 4 : c === 'U' ? 8 : 0;
    const digits = this.s.slice(this.i + 2, this.i + 2 + hex);
    if (!hex || !new RegExp(`^[0-9a-fA-F]{${hex}}$`).test(digits)) throw new Unsupported(`the escape '\\${c ?? ''}'`);
    this.i += 2 + hex;
    return String.fromCodePoint(parseInt(digits, 16));
  }

  private space(): void {
    while (/\s/.test(this.s[this.i] ?? '')) this.i++;
  }
}

/** The text of the `${...}` starting at `start`, found by brace depth outside quotes (for messages). */
function extent(s: string, start: number): string {
  let depth = 1; let j = start + 2; let quote = false;
  for (; j < s.length && depth > 0; j++) {
    if (quote) { if (s[j] === '\\') j++; else if (s[j] === '"') quote = false; } else if (s[j] === '"') quote = true;
    else if (s[j] === '{') depth++; else if (s[j] === '}') depth--;
  }
  if (depth > 0) throw new Error(`unterminated expression in '${s.slice(start, start + 40)}'`);
  return s.slice(start + 2, j - 1).trim();
}

/** Refuses functions and references outside the subset, and rewrites the plan's JSON-string embedding. */
function checked(e: Expression): Expression {
  switch (e.kind) {
    case 'literal': return e;
    case 'template': return { kind: 'template', parts: e.parts.map((p) => (typeof p === 'string' ? p : { ...p, expression: checked(p.expression) })) };
    case 'json-string': return e;
    case 'reference': {
      const [head, ...rest] = e.path;
      const ok = ((head === 'var' || head === 'local') && rest.length === 1) ||
        (head === 'data' && rest.length === 4 && rest[0] === 'terraform_remote_state' && rest[2] === 'outputs') ||
        (RESOURCE_REFERENCES.includes(head) && rest.length === 2 && ['name', 'id'].includes(rest[1]));
      if (!ok) throw new Unsupported(`the reference '${e.path.join('.')}' (supported: var.X, local.X, data.terraform_remote_state.X.outputs.Y, ${RESOURCE_REFERENCES.join('|')}.X.name|id)`);
      return e;
    }
    case 'call': {
      const embedded = e.name === 'trimsuffix' && e.args.length === 2 && isQuote(e.args[1]) && e.args[0].kind === 'call' &&
        e.args[0].name === 'trimprefix' && e.args[0].args.length === 2 && isQuote(e.args[0].args[1]) &&
        e.args[0].args[0].kind === 'call' && e.args[0].args[0].name === 'jsonencode' && e.args[0].args[0].args.length === 1;
      if (embedded) return { kind: 'json-string', of: checked((e.args[0] as any).args[0].args[0]) };
      const f = FUNCTIONS[e.name];
      if (!f) throw new Unsupported(`the function ${e.name}() (supported: ${Object.keys(FUNCTIONS).join(', ')}, and trimsuffix(trimprefix(jsonencode(E), "\\""), "\\""))`);
      if (e.args.length !== f.params) throw new Unsupported(`${e.name}() takes ${f.params} argument(s), not ${e.args.length}`);
      return { kind: 'call', name: e.name, args: e.args.map(checked) };
    }
  }
}
const isQuote = (e: Expression) => e.kind === 'template' && e.parts.length === 1 && e.parts[0] === '"';

/** Terraform's conversions of a function argument. */
function asString(v: J, f: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new Error(`${f}(): a string is required, not ${JSON.stringify(v)}`);
}
function wholeNumber(v: J, f: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (Number.isNaN(n)) throw new Error(`${f}(): a number is required, not ${JSON.stringify(v)}`);
  if (!Number.isInteger(n)) throw new Error(`${f}(): value must be a whole number, not ${n}`);
  return n;
}

/** Grapheme clusters: what Terraform (cty's textseg) counts as characters. Intl.Segmenter is in Node, not in lib es2020. */
const segmenter = new (Intl as unknown as { Segmenter: new (l: string, o: object) => { segment(s: string): Iterable<{ segment: string }> } })
  .Segmenter('en', { granularity: 'grapheme' });

/**
 * cty's SubstrFunc (function/stdlib/string.go), step by step: a negative offset counts from the
 * end (and clamps at 0); an offset at or past the end gives ""; a negative length takes the rest;
 * length 0 gives "" unless the offset was negative, where cty's seek loop never stops and takes
 * the rest (Terraform 1.11: substr("hello world", -2, 0) is "ld").
 */
function substr(s: string, offset: number, length: number): string {
  const chars = [...segmenter.segment(s)].map((x) => x.segment);
  if (offset < 0) offset = Math.max(offset + chars.length, 0);
  else if (length === 0) return '';
  const rest = chars.slice(offset);
  return (length <= 0 ? rest : rest.slice(0, length)).join('');
}

/** The functions the applier evaluates, as Terraform does (its docs and cty's stdlib). */
const FUNCTIONS: Record<string, { readonly params: number; readonly call: (args: J[]) => J }> = {
  /** The UTF-8 bytes of the string, standard Base64 (RFC 4648 section 4) with padding. */
  base64encode: { params: 1, call: ([s]) => Buffer.from(asString(s, 'base64encode'), 'utf8').toString('base64') },
  /** SHA-256 of the UTF-8 bytes, lower-case hex. */
  sha256: { params: 1, call: ([s]) => createHash('sha256').update(asString(s, 'sha256'), 'utf8').digest('hex') },
  substr: { params: 3, call: ([s, offset, length]) => substr(asString(s, 'substr'), wholeNumber(offset, 'substr'), wholeNumber(length, 'substr')) },
};

/** Evaluates an expression; `reference` answers a (checked) reference's path. */
function evaluate(e: Expression, reference: (path: readonly string[]) => J): J {
  switch (e.kind) {
    case 'literal': return e.value;
    case 'reference': return reference(e.path);
    case 'call': return FUNCTIONS[e.name].call(e.args.map((a) => evaluate(a, reference)));
    case 'json-string': return jsonStringValue(String(evaluate(e.of, reference)));
    case 'template': {
      const [only] = e.parts;
      if (e.parts.length === 1 && typeof only !== 'string') return evaluate(only.expression, reference); // a lone one keeps its value's type
      return e.parts.map((p) => {
        if (typeof p === 'string') return p;
        const value = evaluate(p.expression, reference);
        return typeof value === 'string' ? value : JSON.stringify(value);
      }).join('');
    }
  }
}

/** Every reference path in an expression (for the apply order). */
function referencesIn(e: Expression): string[][] {
  switch (e.kind) {
    case 'reference': return [[...e.path]];
    case 'call': return e.args.flatMap(referencesIn);
    case 'json-string': return referencesIn(e.of);
    case 'template': return e.parts.flatMap((p) => (typeof p === 'string' ? [] : referencesIn(p.expression)));
    default: return [];
  }
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

/** An image as the client's ServiceCreate sends it: imageWithTagString adds `:latest` to a name without tag or digest. */
function taggedImage(image: string): string {
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  return image.includes('@') || lastPart.includes(':') ? image : `${image}:latest`;
}

/**
 * createServiceSpec (resource_docker_service_structures.go), field by field. The SDK gives
 * createContainerSpec & co. every field of a block, set or not, so their `if value, ok := ...; ok`
 * always holds: an unset stop_grace_period is sent as 0 (tasks are killed at once on removal),
 * a restart_policy without delay/window as 0, Healthcheck/DNSConfig/Resources as empty objects,
 * file_uid/file_gid "0" and file_mode 0o444 (their schema defaults) unless set.
 */
function serviceSpec(b: J, address: string, images: Record<string, string>, hostPath: (p: string) => string): J {
  const task = one(b.task_spec) ?? {};
  const c = one(task.container_spec) ?? {};
  const hc = one(c.healthcheck);
  const fileRefs = (refs: J, kind: 'Secret' | 'Config') => (list(refs).length === 0 ? undefined : list(refs).map((x: J) => ({
    [`${kind}ID`]: x[`${kind.toLowerCase()}_id`], [`${kind}Name`]: x[`${kind.toLowerCase()}_name`] ?? '',
    File: { Name: x.file_name, UID: x.file_uid ?? '0', GID: x.file_gid ?? '0', Mode: x.file_mode ?? 0o444 },
  })));
  const restart = one(task.restart_policy);
  const placement = one(task.placement);
  const mode = one(b.mode);
  const replicated = one(mode?.replicated);
  const log = one(task.log_driver);
  return {
    Name: b.name,
    Labels: empty(b.labels) ? undefined : labelMap(b.labels),
    TaskTemplate: {
      ContainerSpec: {
        Image: taggedImage(images[c.image] ?? c.image), Command: c.command, Args: c.args, Hostname: c.hostname ?? '',
        Env: empty(c.env) ? undefined : Object.keys(c.env).sort().map((k) => `${k}=${c.env[k]}`), Dir: c.dir ?? '', User: c.user ?? '',
        ReadOnly: !!c.read_only,
        Mounts: list(c.mounts).length === 0 ? undefined : list(c.mounts).map((m: J) => {
          const vo = one(m.volume_options); const to = one(m.tmpfs_options);
          return {
            Type: m.type, Target: m.target, Source: m.type === 'bind' ? hostPath(m.source) : m.source ?? '', ReadOnly: !!m.read_only,
            VolumeOptions: vo && { NoCopy: !!vo.no_copy, Labels: labelMap(vo.labels), DriverConfig: { Name: vo.driver_name ?? '', Options: vo.driver_options ?? {} } },
            TmpfsOptions: to && { SizeBytes: to.size_bytes ?? 0, Mode: to.mode ?? 0 },
          };
        }),
        StopGracePeriod: ns(c.stop_grace_period, address),
        Healthcheck: hc ? { Test: hc.test, Interval: ns(hc.interval, address), Timeout: ns(hc.timeout, address), StartPeriod: ns(hc.start_period, address), Retries: hc.retries ?? 0 } : {},
        DNSConfig: {},
        Secrets: fileRefs(c.secrets, 'Secret'),
        Configs: fileRefs(c.configs, 'Config'),
        Isolation: 'default',
        CapabilityAdd: c.cap_add, CapabilityDrop: c.cap_drop,
      },
      Resources: {},
      RestartPolicy: restart ? { Condition: restart.condition ?? '', Delay: ns(restart.delay, address), MaxAttempts: restart.max_attempts ?? 0, Window: ns(restart.window, address) } : {},
      Placement: placement ? { Constraints: placement.constraints, MaxReplicas: placement.max_replicas ?? 0 } : {},
      ForceUpdate: 0,
      Networks: list(task.networks_advanced).length === 0 ? undefined : list(task.networks_advanced).map((n: J) => ({ Target: n.name, Aliases: n.aliases, DriverOpts: {} })),
      LogDriver: log && { Name: log.name, Options: log.options },
    },
    // createServiceMode: only when `mode` is set; an empty Mode is the engine's replicated 1.
    Mode: mode?.global ? { Global: {} } : mode?.replicated !== undefined ? { Replicated: { Replicas: replicated?.replicas ?? 1 } } : {},
    EndpointSpec: { Mode: one(b.endpoint_spec)?.mode ?? '' },
  };
}

export class Deployment {
  /** Resource address ("docker_container.ID") -> what the engine made, in apply order. */
  public readonly applied = new Map<string, Applied>();
  constructor(private readonly json: J, private readonly resources: Res[], private readonly options: ApplyOptions, private readonly api: DockerApi) {}

  /** The Docker ID of a container, by its name or its resource ID. */
  public containerId(nameOrId: string): string { return this.find(nameOrId, 'docker_container').dockerId; }
  /** The swarm ID of a service, by its name or its resource ID. */
  public serviceId(nameOrId: string): string { return this.find(nameOrId, 'docker_service').dockerId; }
  /** The exit code an `attach` container ended with (recorded, as the provider's exit_code). */
  public exitCode(nameOrId: string): number | undefined { return this.find(nameOrId, 'docker_container').exitCode; }
  /** The addresses in the order they were applied. */
  public get order(): string[] { return [...this.applied.keys()]; }

  /**
   * `terraform apply -replace` of a container: the provider's delete, then create again (with
   * `images` as it is now). By the container's name or resource ID: a network may have the
   * same name (the Docker API proxy's does).
   */
  public async reapply(nameOrId: string): Promise<void> {
    const a = this.find(nameOrId, 'docker_container');
    const r = this.resources.find((x) => x.address === a.address)!;
    await this.deleteContainer(r, a);
    await this.apply(r);
  }

  /**
   * Services (and, not the provider, until their tasks and containers are gone), containers,
   * secrets, configs, networks, each in reverse order; volumes only when asked (`prevent_destroy`).
   */
  public async destroy(options: { volumes?: boolean } = {}): Promise<void> {
    const done = [...this.applied.values()].reverse();
    // Services side by side, as Terraform destroys independent resources (each waits for its tasks).
    await Promise.all(done.filter((a) => a.address.startsWith('docker_service.'))
      .map((a) => this.deleteService(this.resources.find((x) => x.address === a.address)!, a)));
    for (const type of ['docker_container', 'docker_secret', 'docker_config', 'docker_network', 'docker_volume']) {
      for (const a of done.filter((x) => x.address.startsWith(`${type}.`))) {
        const r = this.resources.find((x) => x.address === a.address)!;
        if (type === 'docker_container') await this.deleteContainer(r, a);
        if (type === 'docker_secret') await this.api.call('DELETE', `/secrets/${a.dockerId}`, { accept: [404] });
        if (type === 'docker_config') await this.api.call('DELETE', `/configs/${a.dockerId}`, { accept: [404] });
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
      b = this.resolve(Object.fromEntries(Object.entries(r.body).filter(([k]) => k !== '//' && k !== 'lifecycle')));
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
    } else if (r.type === 'docker_secret' || r.type === 'docker_config') {
      // SecretCreate / ConfigCreate: the provider decodes `data` (standard base64, validated at
      // plan) and the client sends the bytes, which JSON carries as standard base64 again.
      if (typeof b.data !== 'string' || !/^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(b.data)) {
        throw new ApplyError(r.address, 'validate', `data is not standard base64 (validateStringIsBase64Encoded refuses it at plan): ${JSON.stringify(b.data).slice(0, 60)}`);
      }
      const kind = r.type === 'docker_secret' ? 'secrets' : 'configs';
      const spec = { Name: b.name, ...(kind === 'secrets' ? { Labels: labelMap(b.labels) } : {}), Data: Buffer.from(b.data, 'base64').toString('base64') };
      const id: string = (await step(kind === 'secrets' ? 'SecretCreate' : 'ConfigCreate', () => this.api.call('POST', `/${kind}/create`, { body: spec }))).json().ID;
      this.applied.set(r.address, { address: r.address, dockerId: id, name: b.name });
      await step(kind === 'secrets' ? 'SecretInspectWithRaw' : 'ConfigInspectWithRaw', () => this.api.call('GET', `/${kind}/${id}`));
    } else if (r.type === 'docker_service') {
      await this.createService(r, b, step);
    } else {
      await this.createContainer(r, b, step);
    }
    await this.checkPostconditions(r);
  }

  /** resourceDockerServiceCreate, then (not the provider) the wait for the tasks. */
  private async createService(r: Res, b: J, step: <T>(name: string, f: () => Promise<T>) => Promise<T>) {
    const converge = one(b.converge_config);
    if (converge && one(b.mode)?.global) throw new ApplyError(r.address, 'parse', '"mode.0.global": conflicts with converge_config');
    const spec = serviceSpec(b, r.address, this.options.images ?? {}, (p) => this.hostPath(p, r));
    // The client's ServiceCreate; X-Registry-Auth is the encoded empty auth (no `auth` block).
    const id: string = (await step('ServiceCreate', () => this.api.call('POST', '/services/create', { body: spec, headers: { 'X-Registry-Auth': 'e30=' } }))).json().ID;
    const applied: Applied = { address: r.address, dockerId: id, name: b.name };
    this.applied.set(r.address, applied);
    const replicas = spec.Mode.Replicated ? spec.Mode.Replicated.Replicas : undefined;
    if (converge) {
      // StateChangeConf over TaskList(service, desired-state running) + NodeList until every task
      // runs (its Delay and 5 s MinTimeout not copied); on timeout: delete, DidNotConvergeError.
      const timeoutMs = ns(converge.timeout ?? '3m', r.address) / 1e6;
      await waitForServiceTasks(this.api, id, { count: replicas, timeoutMs }).catch(async () => {
        await this.deleteService(r, applied);
        throw new ApplyError(r.address, 'converge', `Service with ID (${id}) did not converge after ${converge.timeout ?? '3m'}`);
      });
    }
    // The read: ServiceList + ServiceInspectWithRaw until the endpoint mode is exposed.
    await step('ServiceInspectWithRaw', () =>
      until(async () => {
        const s = (await this.api.call('GET', `/services/${id}`)).json();
        return Boolean(s.Endpoint?.Spec?.Mode || s.Spec?.EndpointSpec?.Mode);
      }, 30000, `the endpoint spec of service ${id}`, 200));
    // Not the provider: a test convenience, so that the tasks can be looked at at once.
    let count = replicas;
    if (spec.Mode.Global && list(spec.TaskTemplate.Placement?.Constraints).length === 0) {
      count = (await this.api.call('GET', '/nodes')).json().filter((n: J) => n.Status.State === 'ready' && n.Spec.Availability === 'active').length;
    }
    await step('(test) wait for the tasks', () => waitForServiceTasks(this.api, id, { count }));
  }

  /** deleteService: with stop_grace_period, list the task containers, remove the service, wait for and remove each. */
  private async deleteService(r: Res, a: Applied) {
    const grace = this.resolve(one(one(r.body.task_spec)?.container_spec)?.stop_grace_period);
    let containers: string[] = [];
    if (!empty(grace)) {
      containers = (await serviceTasks(this.api, a.name)).filter((t) => t.Status.State !== 'shutdown' && t.Status.ContainerStatus?.ContainerID)
        .map((t) => t.Status.ContainerStatus!.ContainerID!);
    }
    await this.api.call('DELETE', `/services/${a.dockerId}`, { accept: [404] });
    for (const c of containers) {
      // ContainerWait(removed) under a context of the grace period, its error ignored; then remove.
      await this.api.request('POST', `/containers/${c}/wait?condition=removed`, { timeoutMs: Math.max(ns(String(grace), r.address) / 1e6, 1) }).catch(() => undefined);
      await this.api.call('DELETE', `/containers/${c}?force=1&v=1`, { accept: [404, 409] });
    }
    this.applied.delete(a.address);
    await waitForServiceGone(this.api, a.dockerId); // not the provider: its tasks and containers gone
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

  /**
   * Terraform's lifecycle postconditions, checked after the create as Terraform does (the
   * resource stays in state; the apply fails with the error message). One form is evaluated,
   * `${self.exit_code == N}` (an attach container's recorded exit code); any other is refused.
 * Preconditions are not evaluated (they read variables only Terraform has; terraform validate
 * and plan check them in the examples' tests).
   */
  private async checkPostconditions(r: Res) {
    for (const p of list(r.body.lifecycle?.postcondition)) {
      const m = /^\$\{self\.exit_code == (\d+)\}$/.exec(p.condition);
      if (!m) throw new ApplyError(r.address, 'parse', `postcondition ${JSON.stringify(p.condition)} is not supported by the test applier (only \${self.exit_code == N})`);
      const code = this.applied.get(r.address)?.exitCode;
      if (code !== Number(m[1])) {
        // (Not Terraform: the container's logs appended, since the failed apply removes it.)
        const logs = await this.logs(this.applied.get(r.address)!.dockerId);
        throw new ApplyError(r.address, 'postcondition', `Resource postcondition failed (exit_code = ${code}): ${p.error_message}\nits logs:\n${logs}`);
      }
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

  /** Every string of a value, as Terraform evaluates it (see Expression). */
  private resolve(v: J): J {
    return deep(v, (s) => evaluate(Parser.template(s), (path) => this.reference(path)));
  }

  private reference(path: readonly string[]): J {
    const [head, name] = path;
    if (head === 'var') {
      if (!this.json.variable?.[name]) throw new Error(`reference to undeclared variable '${name}'`);
      const v = this.options.variables?.[name] ?? this.json.variable[name].default;
      if (v === undefined) throw new Error(`no value for variable '${name}' (pass it in variables)`);
      return v;
    }
    if (head === 'local') {
      if (!this.json.locals || !(name in this.json.locals)) throw new Error(`reference to undeclared local '${name}'`);
      return this.resolve(this.json.locals[name]);
    }
    if (head === 'data') {
      const [, , source, , output] = path;
      const rs = this.options.remoteState ?? {};
      const outputs = rs[source] ?? rs[source.replace(/^cross-stack-reference-input-/, '')];
      if (!outputs || !(output in outputs)) throw new Error(`no remote state output '${path.join('.')}' (pass it in remoteState)`);
      return outputs[output];
    }
    const a = this.applied.get(`${head}.${name}`);
    if (!a) throw new Error(`'${path.join('.')}' is referenced before ${head}.${name} was created`);
    return path[2] === 'name' ? a.name : a.dockerId;
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
    deep(v, (s) => {
      for (const [head, name] of referencesIn(Parser.template(s))) {
        if (head.startsWith('docker_')) found.push(`${head}.${name}`);
        if (head === 'local' && !seen.has(name)) { seen.add(name); found.push(...refs(json.locals?.[name], seen)); }
      }
    });
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
