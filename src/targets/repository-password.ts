import { TerraformStack, TerraformVariable, Token } from 'cdktf';
import { Construct } from 'constructs';
import { ConfigurationError, show } from '../core/configuration-error';
import { DEFAULT_PASSWORD_VARIABLE } from '../model/default-password-variable';

export { DEFAULT_PASSWORD_VARIABLE };

/** Options of a `RepositoryPassword`. */
export interface RepositoryPasswordOptions {
  /**
   * Where a copy of the password is kept off the Docker host, in a few words an operator can
   * act on, e.g. "Vault kv/backup/restic" or "the ops team's 1Password vault, item restic-db".
   * Without a copy off the host the repositories cannot be opened once the host is lost,
   * whatever their copies survive: the compliance rule PasswordEscrowed warns about a password
   * it does not know to be escrowed. (`KeyEscrow.repositoryPassword` says it itself.)
   * @default - not escrowed, as far as synth knows
   */
  readonly escrowedIn?: string;
}

/**
 * The password that encrypts the restic repositories. It never appears as a literal in the
 * synthesized JSON: Terraform resolves it at apply time and the sidecar reads it from a file.
 */
export class RepositoryPassword {
  /**
   * A sensitive Terraform variable of the stack that holds `scope` (declared once per stack,
   * reused by every container). Supply it with `TF_VAR_<name>` or a `.tfvars` file.
   */
  public static fromVariable(scope: Construct, name: string = DEFAULT_PASSWORD_VARIABLE, options: RepositoryPasswordOptions = {}): RepositoryPassword {
    const where = `RepositoryPassword.fromVariable(${show(name)})`;
    const stack = TerraformStack.of(scope);
    const id = `repository-password-${name}`;
    const existing = stack.node.tryFindChild(id) as TerraformVariable | undefined;
    const variable =
      existing ??
      new TerraformVariable(stack, id, {
        type: 'string',
        sensitive: true,
        nullable: false,
        description: 'Password of the restic repositories (encrypts every backup). Keep a copy outside this host.',
      });
    variable.overrideLogicalId(name);
    return new RepositoryPassword(variable.stringValue, `the Terraform variable ${show(name)}`, checkEscrow(where, options));
  }

  /**
   * A token Terraform resolves at apply time: a sensitive variable, a secret manager value, a
   * generated password. A literal string is refused: it would be stored in plain text.
   */
  public static fromString(value: string, options: RepositoryPasswordOptions = {}): RepositoryPassword {
    if (!Token.isUnresolved(value)) {
      throw literalPassword();
    }
    return new RepositoryPassword(value, 'a Terraform reference', checkEscrow('RepositoryPassword.fromString(...)', options));
  }

  private constructor(
    /** The token that resolves to the password. */
    public readonly value: string,
    /** Where the sidecar gets it, in words, e.g. 'the Terraform variable "restic_password"'. */
    public readonly source: string,
    /**
     * Where a copy is kept off the Docker host.
     * @default - not escrowed, as far as synth knows
     */
    public readonly escrowedIn?: string,
  ) {}
}

/** The declared escrow, trimmed; a blank one says nothing an operator could use. */
function checkEscrow(where: string, options: RepositoryPasswordOptions): string | undefined {
  if (options.escrowedIn === undefined) {
    return undefined;
  }
  if (options.escrowedIn.trim() === '') {
    throw blankEscrow(where, options.escrowedIn);
  }
  return options.escrowedIn.trim();
}

function literalPassword(): ConfigurationError {
  return new ConfigurationError(
    'RepositoryPassword.fromString(...)',
    'the value is a literal string, which would be written in plain text into cdk.tf.json and the Terraform plan',
    'pass a token that Terraform resolves at apply time, e.g. RepositoryPassword.fromVariable(stack, "restic_password") (a sensitive Terraform variable) or RepositoryPassword.fromString(secret.stringValue)',
  );
}

function blankEscrow(where: string, value: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `escrowedIn is ${show(value)}, which does not say where the password is kept`,
    'name the place an operator reads it back from after losing the host, e.g. { escrowedIn: "Vault kv/backup/restic" }, or leave escrowedIn out',
  );
}
