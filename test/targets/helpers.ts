/** Helpers for the storage target tests. */
import { IStorageTarget, Site, StorageTargetConfig } from '../../src';
import { dockerStack } from '../support/synth';

/** `target` bound as the first target of the container "db" on the Docker host, in a fresh stack. */
export function bound(target: IStorageTarget): StorageTargetConfig {
  return target.bind(dockerStack(), { containerName: 'db', index: 1, containerSite: Site.dockerHost() });
}
