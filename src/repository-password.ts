import { TerraformStack, TerraformVariable, Token } from 'cdktf';
import { Construct } from 'constructs';
import { ConfigurationError } from './configuration-error';

/** The Terraform variable `RepositoryPassword.fromVariable` declares when none is named. */
export const DEFAULT_PASSWORD_VARIABLE = 'restic_password';

/**
 * The password that encrypts the restic repositories. It never appears as a literal in the
 * synthesized JSON: Terraform resolves it at apply time and the sidecar reads it from a file.
 */
export class RepositoryPassword {
  /**
   * A sensitive Terraform variable of the stack that holds `scope` (declared once per stack,
   * reused by every container). Supply it with `TF_VAR_<name>` or a `.tfvars` file.
   */
  public static fromVariable(scope: Construct, name: string = DEFAULT_PASSWORD_VARIABLE): RepositoryPassword {
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
    return new RepositoryPassword(variable.stringValue);
  }

  /**
   * A token Terraform resolves at apply time: a sensitive variable, a secret manager value, a
   * generated password. A literal string is refused: it would be stored in plain text.
   */
  public static fromString(value: string): RepositoryPassword {
    if (!Token.isUnresolved(value)) {
      throw literalPassword();
    }
    return new RepositoryPassword(value);
  }

  private constructor(
    /** The token that resolves to the password. */
    public readonly value: string,
  ) {}
}

function literalPassword(): ConfigurationError {
  return new ConfigurationError(
    'RepositoryPassword.fromString(...)',
    'the value is a literal string, which would be written in plain text into cdk.tf.json and the Terraform plan',
    'pass a token that Terraform resolves at apply time, e.g. RepositoryPassword.fromVariable(stack, "restic_password") (a sensitive Terraform variable) or RepositoryPassword.fromString(secret.stringValue)',
  );
}
