import { ConfigurationError } from '../../core/configuration-error';
import { IBackupRule, RuleResult } from '../../model/rule';
import { Topology } from '../../model/topology';
import { QuiesceMode } from '../../policy/quiesce';
import { NO_BACKUP } from './describe';

/** Database engines recognised by image name (the last path component, without tag or digest). */
const DATABASES: Array<[string, RegExp]> = [
  ['postgres', /^(postgres|postgresql|postgis|timescaledb(-ha)?|pgvector)$/],
  ['mysql', /^(mysql|mysql-server|percona|percona-server)$/],
  ['mariadb', /^mariadb$/],
  ['mongodb', /^(mongo|mongodb|mongodb-community-server|mongodb-enterprise-server)$/],
  ['redis', /^(redis|redis-stack|redis-stack-server|valkey|keydb)$/],
  ['other', /^(cassandra|couchdb|influxdb|neo4j|clickhouse|clickhouse-server|elasticsearch|opensearch|cockroach|etcd|rabbitmq)$/],
];

/**
 * The database engine an image runs, by its name: "postgres" for "postgres:16" or
 * "registry.example.com/library/postgres:16@sha256:...", undefined for an image not known as
 * a database. "other" for databases without a specific dump hint.
 */
export function databaseFamily(image: string): string | undefined {
  let ref = image.split('@')[0];
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) {
    ref = ref.slice(0, colon);
  }
  const name = ref.slice(slash + 1).toLowerCase();
  return DATABASES.find(([, pattern]) => pattern.test(name))?.[0];
}

/**
 * Hygiene: a database is not backed up as files in flight. Its backup stops, pauses or dumps
 * it first (Quiesce.stop/pause/exec); a deliberate crash-consistent backup needs a suppression
 * with a reason (`BackupSuppressions.addToConstruct`).
 */
export class DatabaseConsistencyRule implements IBackupRule {
  /** The rule's identifier. */
  public static readonly RULE_ID = 'DatabaseConsistency';
  public readonly ruleId = DatabaseConsistencyRule.RULE_ID;
  public readonly description =
    'A database (postgres, mysql, mariadb, mongo, redis, ...) is stopped, paused or dumped before its volumes are read';

  public evaluate(topology: Topology): RuleResult {
    const plan = topology.backup;
    if (!plan) {
      return RuleResult.notApplicable(NO_BACKUP);
    }
    if (topology.image === undefined) {
      return RuleResult.notApplicable('image unknown (a BackupSidecar on its own)');
    }
    const family = databaseFamily(topology.image);
    if (family === undefined) {
      return RuleResult.notApplicable(`image ${topology.image} is not a known database`);
    }
    const observed = `image ${topology.image} is a database, quiesce ${plan.quiesceMode}`;
    return plan.quiesceMode === QuiesceMode.NONE ? RuleResult.nonCompliant(observed) : RuleResult.compliant(observed);
  }
}

/** A dump command per database family, for the fix of the finding. */
const DUMP_HINTS: { [family: string]: string } = {
  postgres: "Quiesce.exec(['pg_dumpall', '-U', 'postgres', '-f', '/var/lib/postgresql/data/dump.sql'])",
  mysql: "Quiesce.exec(['mysqldump', '--all-databases', '--single-transaction', '--result-file=/var/lib/mysql/dump.sql'])",
  mariadb: "Quiesce.exec(['mariadb-dump', '--all-databases', '--single-transaction', '--result-file=/var/lib/mysql/dump.sql'])",
  mongodb: "Quiesce.exec(['mongodump', '--archive=/data/db/dump.archive'])",
  redis: "Quiesce.exec(['redis-cli', 'SAVE'])",
};

/** How to acknowledge a deliberate crash-consistent backup. */
const SUPPRESS = (ruleId: string) =>
  `or, if it is deliberate, suppress it with a reason: BackupSuppressions.addToConstruct(container, [{ ruleId: "${ruleId}", reason: "..." }])`;

/**
 * The finding when a database is backed up in flight: how to dump, stop or pause it, or
 * suppress the finding with a reason.
 */
export function crashConsistentDatabase(where: string, observed: string, family: string, ruleId: string): ConfigurationError {
  const dump = DUMP_HINTS[family];
  return new ConfigurationError(
    where,
    `${observed}: its files are copied while it writes them, and the restored database may be corrupt`,
    `${dump ? `dump it onto the volume first, e.g. \`quiesce: ${dump}\`, or` : ''} stop or pause it for the backup (Quiesce.stop(), Quiesce.pause()), ${SUPPRESS(ruleId)}`,
  );
}
