/**
 * The Terraform variable the repository password comes from when a backup declares none
 * (`RepositoryPassword.fromVariable`'s default name, and the resolver's default password).
 * A file of its own: targets/repository-password.ts reads it, and the model's declarations
 * name that class, so neither may import the other's neighbours.
 */
export const DEFAULT_PASSWORD_VARIABLE = 'restic_password';
