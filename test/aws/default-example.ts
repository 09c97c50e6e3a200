import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Testing } from 'cdktf';
import { defaultExample } from '../../examples/postgres/main';

/** The default example's stacks, synthesized by a real `app.synth()` into a temp folder. */
export interface SynthesizedExample {
  readonly outdir: string;
  /** The parsed cdk.tf.json of the AWS stack (`backup-storage`). */
  readonly storage: any;
  /** The parsed cdk.tf.json of the Docker host stack (`db-host`). */
  readonly host: any;
}

let cached: SynthesizedExample | undefined;

/** Synthesizes the default example once per test file (cross-stack references included). */
export function synthesizeDefaultExample(): SynthesizedExample {
  if (cached) return cached;
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'default-example-'));
  const app = new App({ outdir, stackTraces: false });
  defaultExample(app);
  app.synth();
  const read = (stack: string) => JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8'));
  cached = { outdir, storage: read('backup-storage'), host: read('db-host') };
  return cached;
}

export { Testing };
