/**
 * The checks a protected workload's declaration gets, a container's (`ProtectedContainer`) or
 * a swarm service's (`ProtectedService`): its volumes and its environment.
 */
import { ConfigurationError, show } from '../core/configuration-error';
import { LiteralCredential, literalCredentialIn } from '../core/literal-credentials';
import { holdsToken } from '../core/string-token';
import { checkName, relativePath } from '../core/validation';

/** Environment variables whose value is a secret by their name. */
const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|_KEY|PRIVATE_KEY)$/i;

/** A named volume mounted into the workload. */
export interface MountedVolume {
  readonly name: string;
  readonly containerPath: string;
}

/** Volume names are valid and distinct, and each is mounted at its own absolute path. */
export function checkVolumes(where: string, volumes: MountedVolume[]): void {
  const names = new Set<string>();
  const paths = new Set<string>();
  for (const v of volumes) {
    checkName(where, 'volume name', v.name);
    if (!v.containerPath.startsWith('/')) {
      throw relativePath(where, `containerPath of volume "${v.name}"`, v.containerPath);
    }
    if (names.has(v.name)) {
      throw duplicateVolume(where, v.name);
    }
    if (paths.has(v.containerPath)) {
      throw duplicateContainerPath(where, v.containerPath);
    }
    names.add(v.name);
    paths.add(v.containerPath);
  }
}

/**
 * Variables named like secrets must be tokens (a sensitive variable), never literals; and no
 * value, whatever its name, holds a literal password inside a URL or connection string.
 */
export function checkEnvironment(where: string, environment: { [name: string]: string }): void {
  for (const [name, value] of Object.entries(environment)) {
    if (SECRET_NAME.test(name) && !holdsToken(value)) {
      throw literalSecretEnvironment(where, name);
    }
    const found = literalCredentialIn(value);
    if (found) {
      throw literalCredential(where, `the environment variable ${name}`, found, `${name}_FILE`);
    }
  }
}

/** No argument of the command holds a literal password inside a URL or connection string. */
export function checkCommand(where: string, command: string[]): void {
  command.forEach((argument, i) => {
    const found = literalCredentialIn(argument);
    if (found) {
      throw literalCredential(where, `command argument ${i + 1}`, found);
    }
  });
}

function duplicateVolume(path: string, name: string): ConfigurationError {
  return new ConfigurationError(
    path,
    `the volume name ${show(name)} is declared more than once`,
    'give every entry of `volumes` its own name, or mount the same volume once',
  );
}

function duplicateContainerPath(path: string, containerPath: string): ConfigurationError {
  return new ConfigurationError(
    path,
    `two volumes are mounted at the same containerPath ${show(containerPath)}`,
    'give each volume its own containerPath',
  );
}

function literalSecretEnvironment(path: string, name: string): ConfigurationError {
  return new ConfigurationError(
    path,
    `the environment variable ${name} looks like a secret and has a literal value, which would be stored in plain text in cdk.tf.json`,
    `pass a sensitive TerraformVariable's value (new TerraformVariable(stack, "${name.toLowerCase()}", { sensitive: true }).stringValue), or point the image at a file with ${name}_FILE`,
  );
}

function literalCredential(path: string, what: string, found: LiteralCredential, fileVariable?: string): ConfigurationError {
  return new ConfigurationError(
    path,
    `${what} holds ${found.what} (${found.masked}), which would be stored in plain text in cdk.tf.json and the Terraform plan`,
    `put a sensitive TerraformVariable's value in the password's place, e.g. \`${found.masked.replace('***', '${password.stringValue}')}\` (a Terraform reference inside the value is fine)` +
      (fileVariable ? `, or point the image at a file with ${fileVariable}` : ', or let the program read the password from a file or its environment'),
  );
}
