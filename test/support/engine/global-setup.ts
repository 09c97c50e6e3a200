/** jest globalSetup: one private Docker Engine for the whole run (see docker-engine.ts). */
import { startEngine } from './docker-engine';

export default async function globalSetup(): Promise<void> {
  await startEngine();
}
