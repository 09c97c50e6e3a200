/**
 * A stand-in for the `docker` commands of the restore runbook (docs/restore.md), on top of the
 * sidecar sandbox: a "Docker host" whose containers are synthesized `docker_container`
 * resources and whose volumes and host paths are folders. Each runbook command line is parsed
 * as the shell would (quotes, `$VAR`, `> file`) and carried out:
 *
 * - `docker exec C ARGS`: runs ARGS in C as synthesized (its capabilities, read-only root,
 *   mounts, environment);
 * - `docker run [--rm] [--volumes-from C] [--env-file F] [-v SRC:DST[:ro]] [-e VAR[=VAL]]
 *   [--entrypoint E] IMAGE ARGS`: a one-off container with Docker's defaults (Docker's default
 *   capability set, writable root, no tmpfs), C's volumes and binds (not its tmpfs, as
 *   `--volumes-from` does), F's environment, the image's entrypoint (`restic`) unless replaced;
 * - `docker inspect --format '{{.Config.Image}}' C` and
 *   `--format '{{range .Config.Env}}{{println .}}{{end}}' C`;
 * - `docker cp C:PATH DEST`, `docker volume create|rm NAME`, `docker stop|start NAMES`;
 * - `NAME=$(docker ...)` and `NAME=value` set variables; `rm FILE` removes a file of the
 *   working folder.
 *
 * Anything else is refused, so a runbook command the sandbox cannot carry out fails the test
 * instead of passing unexamined.
 *
 * `create` stands for `cdktf deploy` of one container. A one-shot container (`attach: true`,
 * as the sidecar's installer `<name>-backup-install` is) runs to its end right there, as the
 * provider waits for it, and a non-zero exit fails the deploy; so creating the installer
 * before the sidecar fills the install volume the sidecar mounts read-only.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DockerContainerResource, DockerMount, DockerVolume, SidecarResult, installAgentSync, renderTerraformString, runSidecar } from './sidecar-sandbox';

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Splits a command line into words as sh does for the cases the runbook uses. */
export function shellWords(line: string, vars: Record<string, string>): { words: string[]; redirect?: string } {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let redirect: string | undefined;
  let redirectNext = false;
  const expand = (text: string, i: number): [string, number] => {
    const braced = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(text.slice(i));
    const plain = /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(text.slice(i));
    const match = braced ?? plain;
    if (!match) {
      return ['$', i + 1];
    }
    if (!(match[1] in vars)) {
      throw new Error(`the command uses $${match[1]}, which the runbook has not set: ${line}`);
    }
    return [vars[match[1]], i + match[0].length];
  };
  const finish = () => {
    if (inWord) {
      if (redirectNext) {
        redirect = word;
        redirectNext = false;
      } else {
        words.push(word);
      }
    }
    word = '';
    inWord = false;
  };
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${line}`);
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      inWord = true;
      i += 1;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) {
          word += line[i + 1];
          i += 2;
        } else if (line[i] === '$') {
          const [value, next] = expand(line, i);
          word += value;
          i = next;
        } else if (line[i] === '`') {
          throw new Error(`command substitution is not supported: ${line}`);
        } else {
          word += line[i];
          i += 1;
        }
      }
      if (i >= line.length) throw new Error(`unterminated " in: ${line}`);
      i += 1;
    } else if (c === '$') {
      const [value, next] = expand(line, i);
      word += value;
      inWord = true;
      i = next;
    } else if (c === ' ' || c === '\t') {
      finish();
      i += 1;
    } else if (c === '>') {
      finish();
      redirectNext = true;
      i += 1;
    } else if (c === '#' && !inWord) {
      break;
    } else if ('|;&<`()'.includes(c)) {
      throw new Error(`shell syntax ${JSON.stringify(c)} is not supported here: ${line}`);
    } else {
      word += c;
      inWord = true;
      i += 1;
    }
  }
  finish();
  if (redirectNext) throw new Error(`> without a file in: ${line}`);
  return { words, redirect };
}

/** Escapes text for a string of a synthesized resource (the sandbox un-escapes it). */
const literal = (text: string) => text.replace(/\$\{/g, '$${').replace(/%\{/g, '%%{');

export class SandboxDockerHost {
  /** Variables set by `NAME=...` lines. */
  public readonly vars: Record<string, string> = {};
  /** Names of the containers `docker stop` stopped (and `docker start` did not start again). */
  public readonly stopped = new Set<string>();
  private readonly containers = new Map<string, DockerContainerResource>();

  /**
   * @param root folder holding this host's volumes (`volumes/<name>`) and working folder (`cwd`)
   * @param hostPaths real folders for host paths (bind and host_path sources), e.g. a NAS mount
   * @param terraformValues what Terraform substituted in the synthesized resources
   */
  constructor(
    public readonly root: string,
    private readonly hostPaths: Record<string, string>,
    private readonly terraformValues: Record<string, string>,
  ) {
    fs.mkdirSync(this.cwd, { recursive: true });
  }

  /** The shell's working folder (env files, `docker cp` destinations). */
  public get cwd(): string {
    return path.join(this.root, 'cwd');
  }

  /** The folder of a named volume (created when missing, as Docker does). */
  public volume(name: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new Error(`not a volume name: ${name}`);
    const dir = path.join(this.root, 'volumes', name);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }

  /**
   * `cdktf deploy` of a container: it exists from now on (its uploads are written when it
   * runs). A one-shot container (`attach: true`) runs to its end now; a failure throws.
   */
  public create(resource: DockerContainerResource): void {
    const name = this.render(resource.name ?? '', 'name');
    this.containers.set(name, resource);
    if (resource.attach === true) {
      installAgentSync(resource, { hostDirs: this.hostDirsFor(resource), terraformValues: this.terraformValues, timeoutMs: 30000 });
    }
  }

  /** Runs the container's own entrypoint and command once (a started container, or a backup cycle). */
  public start(name: string, command?: string[]): Promise<SidecarResult> {
    return runSidecar(this.container(name), { hostDirs: this.hostDirsFor(this.container(name)), terraformValues: this.terraformValues, command });
  }

  /** Carries out one runbook command line. */
  public async sh(line: string): Promise<CommandResult> {
    const assignment = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (assignment) {
      const [, name, value] = assignment;
      const substitution = /^\$\((.*)\)$/.exec(value);
      if (substitution) {
        const result = await this.sh(substitution[1]);
        if (result.code !== 0) return result;
        this.vars[name] = result.stdout.replace(/\n+$/, '');
      } else {
        const { words } = shellWords(value, this.vars);
        if (words.length !== 1) throw new Error(`not a simple assignment: ${line}`);
        this.vars[name] = words[0];
      }
      return { code: 0, stdout: '', stderr: '' };
    }
    const { words, redirect } = shellWords(line, this.vars);
    const result = await this.run(words);
    if (redirect !== undefined) {
      fs.writeFileSync(path.resolve(this.cwd, redirect), result.stdout);
      return { ...result, stdout: '' };
    }
    return result;
  }

  private async run(words: string[]): Promise<CommandResult> {
    const [program, sub, ...args] = words;
    if (program === 'rm' && sub !== undefined && args.length === 0) {
      fs.rmSync(path.resolve(this.cwd, sub));
      return { code: 0, stdout: '', stderr: '' };
    }
    if (program !== 'docker') throw new Error(`only docker commands run in the sandbox: ${words.join(' ')}`);
    switch (sub) {
      case 'stop':
        args.forEach((n) => (this.container(n), this.stopped.add(n)));
        return { code: 0, stdout: args.join('\n') + '\n', stderr: '' };
      case 'start':
        args.forEach((n) => (this.container(n), this.stopped.delete(n)));
        return { code: 0, stdout: args.join('\n') + '\n', stderr: '' };
      case 'volume':
        return this.volumeCommand(args);
      case 'inspect':
        return this.inspect(args);
      case 'exec':
        return this.exec(args);
      case 'run':
        return this.runContainer(args);
      case 'cp':
        return this.cp(args);
      default:
        throw new Error(`docker ${sub} is not modelled: ${words.join(' ')}`);
    }
  }

  private volumeCommand(args: string[]): CommandResult {
    const [action, name, ...rest] = args;
    if (rest.length > 0 || name === undefined) throw new Error(`docker volume ${args.join(' ')} is not modelled`);
    if (action === 'create') {
      this.volume(name);
    } else if (action === 'rm') {
      fs.rmSync(path.join(this.root, 'volumes', name), { recursive: true });
    } else {
      throw new Error(`docker volume ${action} is not modelled`);
    }
    return { code: 0, stdout: `${name}\n`, stderr: '' };
  }

  private inspect(args: string[]): CommandResult {
    if (args.length !== 3 || args[0] !== '--format') throw new Error(`docker inspect ${args.join(' ')} is not modelled`);
    const resource = this.container(args[2]);
    switch (args[1]) {
      case '{{.Config.Image}}':
        return { code: 0, stdout: `${resource.image}\n`, stderr: '' };
      case '{{range .Config.Env}}{{println .}}{{end}}':
        // Config.Env also lists the image's own variables: the official restic image sets PATH.
        return { code: 0, stdout: [...(resource.env ?? []).map((e, i) => this.render(e, `env[${i}]`)), 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ''].join('\n'), stderr: '' };
      default:
        throw new Error(`docker inspect --format ${args[1]} is not modelled`);
    }
  }

  private async exec(args: string[]): Promise<CommandResult> {
    const [name, ...argv] = args;
    if (name === undefined || name.startsWith('-') || argv.length === 0) throw new Error(`docker exec ${args.join(' ')} is not modelled`);
    if (this.stopped.has(name)) return { code: 1, stdout: '', stderr: `Error response from daemon: container ${name} is not running\n` };
    const resource = this.container(name);
    return runSidecar(resource, { hostDirs: this.hostDirsFor(resource), terraformValues: this.terraformValues, exec: argv });
  }

  private async runContainer(args: string[]): Promise<CommandResult> {
    const mounts: DockerMount[] = [];
    const volumes: DockerVolume[] = [];
    const env = new Map<string, string>();
    let entrypoint: string[] | undefined;
    let i = 0;
    const value = () => {
      if (i + 1 >= args.length) throw new Error(`${args[i]} needs a value`);
      i += 2;
      return args[i - 1];
    };
    while (i < args.length && args[i].startsWith('-')) {
      switch (args[i]) {
        case '--rm':
          i += 1;
          break;
        case '--volumes-from': {
          const from = this.container(value());
          for (const m of from.mounts ?? []) {
            if (m.type !== 'tmpfs') mounts.push({ ...m, source: m.source && this.render(m.source, 'mounts') });
          }
          for (const v of from.volumes ?? []) volumes.push(v);
          break;
        }
        case '--env-file':
          for (const entry of fs.readFileSync(path.resolve(this.cwd, value()), 'utf8').split('\n')) {
            if (entry === '' || entry.startsWith('#')) continue;
            const eq = entry.indexOf('=');
            if (eq < 0) env.set(entry, process.env[entry] ?? '');
            else env.set(entry.slice(0, eq), entry.slice(eq + 1));
          }
          break;
        case '-e': {
          const entry = value();
          const eq = entry.indexOf('=');
          if (eq >= 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
          else if (process.env[entry] !== undefined) env.set(entry, process.env[entry]!);
          break;
        }
        case '-v': {
          const [source, target, mode, ...extra] = value().split(':');
          if (target === undefined || extra.length > 0 || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) throw new Error(`-v ${source}:${target}:${mode} is not modelled`);
          if (source.startsWith('/')) {
            volumes.push({ host_path: source, container_path: target, read_only: mode === 'ro' });
          } else {
            this.volume(source);
            mounts.push({ type: 'volume', source, target, read_only: mode === 'ro' });
          }
          break;
        }
        case '--entrypoint':
          entrypoint = [value()];
          break;
        default:
          throw new Error(`docker run ${args[i]} is not modelled`);
      }
    }
    const image = args[i];
    if (image === undefined) throw new Error('docker run without an image');
    // Docker's defaults: writable root, no extra security options, the default capability set.
    const resource: DockerContainerResource = {
      name: 'one-off',
      image,
      entrypoint: entrypoint?.map(literal),
      command: args.slice(i + 1).map(literal),
      env: [...env].map(([k, v]) => literal(`${k}=${v}`)),
      mounts,
      volumes,
    };
    return runSidecar(resource, { hostDirs: this.hostDirsFor(resource), terraformValues: this.terraformValues, capabilities: {} });
  }

  private cp(args: string[]): CommandResult {
    const [from, to, ...rest] = args;
    const m = /^([^:/]+):(\/.*)$/.exec(from ?? '');
    if (!m || to === undefined || rest.length > 0) throw new Error(`docker cp ${args.join(' ')} is not modelled (container to host only)`);
    const resource = this.container(m[1]);
    const file = m[2];
    const holders = [
      ...(resource.mounts ?? []).filter((x) => x.type !== 'tmpfs').map((x) => ({ target: this.render(x.target, 'target'), key: this.render(x.source!, 'source') })),
      ...(resource.volumes ?? []).map((v) => ({ target: this.render(v.container_path, 'path'), key: this.render((v.host_path ?? v.volume_name)!, 'source') })),
    ]
      .filter((x) => file === x.target || file.startsWith(`${x.target}/`))
      .sort((a, b) => b.target.length - a.target.length);
    if (holders.length === 0) throw new Error(`docker cp: ${file} is not on a volume of ${m[1]} (the sandbox keeps no container layer)`);
    const dirs = this.hostDirsFor(resource);
    const source = path.join(dirs[holders[0].key], path.relative(holders[0].target, file));
    fs.cpSync(source, path.resolve(this.cwd, to), { recursive: true });
    return { code: 0, stdout: '', stderr: '' };
  }

  private container(name: string): DockerContainerResource {
    const resource = this.containers.get(name);
    if (!resource) throw new Error(`Error: No such container: ${name}`);
    return resource;
  }

  private render(text: string, where: string): string {
    return renderTerraformString(text, this.terraformValues, where);
  }

  /** The sandbox's hostDirs for a resource: volumes of this host, host paths as given. */
  private hostDirsFor(resource: DockerContainerResource): Record<string, string> {
    const dirs: Record<string, string> = {};
    const add = (key: string, isVolume: boolean) => {
      if (isVolume) {
        dirs[key] = this.volume(key);
      } else {
        const real = this.hostPaths[key];
        if (real === undefined) throw new Error(`the host path ${key} does not exist on this host (pass it in hostPaths)`);
        dirs[key] = real;
      }
    };
    for (const m of resource.mounts ?? []) {
      if (m.type !== 'tmpfs') add(this.render(m.source!, 'mounts.source'), m.type === 'volume');
    }
    for (const v of resource.volumes ?? []) {
      if (v.host_path) add(this.render(v.host_path, 'host_path'), false);
      else add(this.render(v.volume_name!, 'volume_name'), true);
    }
    return dirs;
  }
}
