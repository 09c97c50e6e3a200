/**
 * jest globalSetup: first stops the engines of earlier runs that were killed before their
 * teardown, then starts one private Docker Engine for the whole run (see docker-engine.ts).
 */
import { reapOrphanedEngines, startEngine } from './docker-engine';

export default async function globalSetup(): Promise<void> {
  for (const dir of await reapOrphanedEngines()) {
    process.stderr.write(`globalSetup: stopped the engine of a run that ended without its teardown (${dir})\n`);
  }
  await startEngine();
}
