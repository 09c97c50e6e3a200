/** jest globalTeardown: stops the engine globalSetup started and removes what it made. */
import { currentEngine, stopEngine } from './docker-engine';

export default async function globalTeardown(): Promise<void> {
  await stopEngine(currentEngine());
}
