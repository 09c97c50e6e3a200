/**
 * What the compliance pack evaluates for one node: its topology. The constructs build their
 * own and hand it to the pack through compliance/hooks.ts, so the pack reads the model only and
 * never needs to recognise a construct.
 */
import { TopologyInput, buildTopology } from './build';
import { Topology } from './topology';

/** A node the compliance pack evaluates, with its topology. */
export interface Subject {
  readonly topology: Topology;
  /**
   * The sidecar's (or backup service's) name, for the report.
   * @default - no backup
   */
  readonly sidecarName?: string;
}

/**
 * The subject of a workload (a protected container or service, or a sidecar or backup service
 * used on its own): the topology model reads the backup as it was resolved, the same plan the
 * construct wired.
 */
export function workloadSubject(input: TopologyInput): Subject {
  return {
    topology: Topology.of(buildTopology(input)),
    sidecarName: input.backup ? `${input.containerName}-backup` : undefined,
  };
}
