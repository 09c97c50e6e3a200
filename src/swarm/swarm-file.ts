/**
 * The files a swarm task reads arrive as swarm objects: a `docker_secret` for anything secret
 * (kept encrypted in the swarm's Raft log, mounted on a tmpfs), a `docker_config` for the rest.
 * Swarm never changes one: new content is a new object under a new name (a secret in use
 * cannot be deleted, nor a second one made with its name; checked on the engine, see
 * docs/security.md). So each is named after its content, `<prefix>-<12 hex digits of the
 * SHA-256 of it>` (computed by Terraform from the value, which synth may not know), and
 * replaced create-before-destroy: Terraform makes the new object, points the service at it,
 * then deletes the old one. The provider wants `data` in standard base64.
 */
import { Config } from '@cdktf/provider-docker/lib/config';
import { Secret } from '@cdktf/provider-docker/lib/secret';
import { Fn, TerraformLocal } from 'cdktf';
import { Construct } from 'constructs';

/** A swarm secret holding `content` (a token or a literal), named `<prefix>-<content hash>`. */
export function swarmSecret(scope: Construct, id: string, prefix: string, content: string, protects: string): Secret {
  const value = contentOf(scope, id, content);
  return new Secret(scope, id, {
    name: contentName(prefix, value),
    data: Fn.base64encode(value),
    labels: [{ label: 'cdktf-container-backup.protects', value: protects }],
    lifecycle: { createBeforeDestroy: true },
  });
}

/** A swarm config holding `content`, named `<prefix>-<content hash>`. */
export function swarmConfig(scope: Construct, id: string, prefix: string, content: string): Config {
  const value = contentOf(scope, id, content);
  return new Config(scope, id, {
    name: contentName(prefix, value),
    data: Fn.base64encode(value),
    lifecycle: { createBeforeDestroy: true },
  });
}

/**
 * The content as a Terraform expression both functions read: a local holding it. (cdktf
 * refuses a literal with double quotes as a function's argument, and the content is hashed
 * and encoded: written once, referenced twice.)
 */
function contentOf(scope: Construct, id: string, content: string): string {
  return new TerraformLocal(scope, `${id}-content`, content).asString;
}

function contentName(prefix: string, value: string): string {
  return `${prefix}-${Fn.substr(Fn.sha256(value), 0, 12)}`;
}

/** A file mode as the provider takes it: a number (Terraform has no octal literals). */
export function fileMode(octal: string): number {
  return parseInt(octal, 8);
}
