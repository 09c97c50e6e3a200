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
