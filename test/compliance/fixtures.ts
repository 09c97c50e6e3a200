/**
 * Pure topologies for rule tests (no constructs), and a fake immutable object-storage target
 * for construct tests that need a full 3-2-1-1-0 topology without the AWS side.
 */
import { Construct } from 'constructs';
import {
  BackupCopy,
  BackupPlan,
  ContainerTopology,
  CopyRole,
  IStorageTarget,
  Medium,
  QuiesceMode,
  Site,
  StorageTargetBindContext,
  StorageTargetConfig,
} from '../../src';

export const HOST = Site.dockerHost();
export const REGION = Site.awsRegion('eu-central-1');

export function live(): BackupCopy {
  return { name: 'live data', role: CopyRole.LIVE, medium: Medium.DISK, site: HOST, immutable: false, offline: false, encrypted: false, readBack: false };
}

export function copy(name: string, overrides: Partial<BackupCopy> = {}): BackupCopy {
  return {
    name,
    role: CopyRole.TARGET,
    medium: Medium.DISK,
    site: HOST,
    immutable: false,
    offline: false,
    encrypted: true,
    readBack: true,
    repository: `/backup/targets/${name}`,
    ...overrides,
  };
}

export function plan(overrides: Partial<BackupPlan> = {}): BackupPlan {
  return {
    scheduleExpression: '0 2 * * *',
    maxIntervalSeconds: 86400,
    retentionHorizonDays: 372,
    retentionForgetArguments: ['--keep-daily', '7', '--keep-weekly', '4', '--keep-monthly', '12'],
    quiesceMode: QuiesceMode.EXEC,
    quiesceOutput: '/var/lib/postgresql/data/dump.sql',
    quiesceOutputVolume: 'pgdata',
    readAllDataWithinDays: 28,
    restoreDrillExpression: '0 5 * * 0',
    restoreDrillMaxIntervalSeconds: 7 * 86400,
    ...overrides,
  };
}

/** A full 3-2-1-1-0 topology: live data, a local disk, S3 in a region, its locked replica in another. */
export function compliantTopology(overrides: Partial<ContainerTopology> = {}): ContainerTopology {
  return {
    path: 'db-host/db',
    containerName: 'db',
    image: 'postgres:16',
    site: HOST,
    dataVolumes: ['pgdata'],
    copies: [
      live(),
      copy('local'),
      copy('vault', { medium: Medium.OBJECT_STORAGE, site: Site.awsRegion('eu-west-1'), repository: 's3:s3.eu-west-1.amazonaws.com/vault/db' }),
      copy('vault-offsite', {
        role: CopyRole.REPLICA,
        medium: Medium.OBJECT_STORAGE,
        site: REGION,
        immutable: true,
        immutableRetentionDays: 400,
        copyOf: 'vault',
        repository: 's3:s3.eu-central-1.amazonaws.com/vault-replica/db',
      }),
    ],
    backup: plan(),
    ...overrides,
  };
}

/** Only the live data and one local disk: what the first default example had. */
export function localOnlyTopology(overrides: Partial<ContainerTopology> = {}): ContainerTopology {
  return compliantTopology({ copies: [live(), copy('local')], ...overrides });
}

/** A stateless container: no data volumes, no backup. */
export function statelessTopology(): ContainerTopology {
  return { path: 'web-host/web', containerName: 'web', image: 'nginx:1.27', site: HOST, dataVolumes: [], copies: [live()] };
}

/** Data volumes but no backup at all. */
export function unprotectedTopology(): ContainerTopology {
  return { path: 'db-host/db', containerName: 'db', image: 'postgres:16', site: HOST, dataVolumes: ['pgdata'], copies: [live()] };
}

/** Properties of the fake object-storage target. */
export interface FakeBucketTargetProps {
  readonly name?: string;
  readonly region?: string;
  readonly lockDays?: number;
  readonly offsiteRegion?: string;
  readonly offsiteLockDays?: number;
  readonly encrypted?: boolean;
}

/**
 * Stands in for an S3 target: object storage in a region, with an optional Object Lock and an
 * optional locked replica in another region. Creates no resources.
 */
export class FakeBucketTarget implements IStorageTarget {
  constructor(private readonly props: FakeBucketTargetProps = {}) {}

  public bind(_scope: Construct, context: StorageTargetBindContext): StorageTargetConfig {
    const name = this.props.name ?? 'vault';
    const region = this.props.region ?? 'eu-west-1';
    return {
      name,
      // One folder per container, as the real S3 target's default prefix.
      repository: `s3:s3.${region}.amazonaws.com/${name}/${context.containerName}`,
      medium: Medium.OBJECT_STORAGE,
      site: Site.awsRegion(region),
      immutable: this.props.lockDays !== undefined,
      immutableRetentionDays: this.props.lockDays,
      encrypted: this.props.encrypted,
      replicas:
        this.props.offsiteRegion === undefined
          ? []
          : [
            {
              name: `${name}-offsite`,
              medium: Medium.OBJECT_STORAGE,
              site: Site.awsRegion(this.props.offsiteRegion),
              immutable: this.props.offsiteLockDays !== undefined,
              immutableRetentionDays: this.props.offsiteLockDays,
              verifyRepository: `s3:s3.${this.props.offsiteRegion}.amazonaws.com/${name}-replica/${context.containerName}`,
            },
          ],
    };
  }
}

/** A target that binds to exactly the config it is given: any medium, site, lock or flag. */
export class ConfiguredTarget implements IStorageTarget {
  constructor(private readonly config: StorageTargetConfig) {}

  public bind(_scope: Construct, _context: StorageTargetBindContext): StorageTargetConfig {
    return this.config;
  }
}
