import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { App, TerraformStack, Testing } from 'cdktf';

/** A fresh stack with a Docker provider, as a user's Docker-host stack would have. */
export function dockerStack(id: string = 'host'): TerraformStack {
  const app = Testing.app();
  const stack = new TerraformStack(app, id);
  new DockerProvider(stack, 'docker', {});
  return stack;
}

/** Synthesizes a stack (Aspects included, validations not) and returns the parsed cdk.tf.json. */
export function synthJson(stack: TerraformStack): any {
  return JSON.parse(Testing.synth(stack));
}

/** Runs a full synth (validations and error annotations included) of the app that holds `stack`. */
export function fullSynth(stack: TerraformStack): string {
  return Testing.fullSynth(stack);
}

/** The resources of one type in a synthesized stack, as an array. */
export function resources(json: any, type: string): any[] {
  return Object.values(json.resource?.[type] ?? {});
}

export { App };

/**
 * What Terraform substitutes for `${docker_volume.<id>.name}` and `${docker_network.<id>.name}`
 * references: the names the synthesized resources declare.
 */
export function dockerNameReferences(json: any): Record<string, string> {
  const values: Record<string, string> = {};
  for (const type of ['docker_volume', 'docker_network']) {
    for (const [id, resource] of Object.entries<any>(json.resource?.[type] ?? {})) {
      values[`${type}.${id}.name`] = resource.name;
    }
  }
  return values;
}
