/**
 * resolveBackupPlan decides a container's backup once, every default filled in; BackupSidecar
 * wires it, the compliance model reads it, and the agent's plan is written from it.
 */
import { BackupSidecarProps, ProtectedContainer, Quiesce, Retention, Schedule, Site, StorageTarget, Verification } from '../../src';
import { ConfigurationError } from '../../src/core/configuration-error';
import { DEFAULT_AGENT_IMAGE, resolveBackupPlan } from '../../src/model/resolve-backup-plan';
import { subjectOf } from '../../src/compliance/extract';
import { agentPlanOf, dockerStack, synthJson } from '../support/synth';

const LOCAL = { name: 'local', repository: '/backup/targets/local', hostPath: '/srv/backup/db', medium: 'disk', site: Site.dockerHost() } as any;
const TARGET = StorageTarget.localPath({ hostPath: '/srv/backup/db', name: 'local' });
const declared = (overrides: object = {}): BackupSidecarProps => ({ containerName: 'db', sources: [{ volumeName: 'pgdata' }], targets: [TARGET], ...overrides });

describe('resolveBackupPlan', () => {
  test('fills in every default', () => {
    const plan = resolveBackupPlan('app/db', declared(), () => [LOCAL]);
    expect(plan).toMatchObject({
      containerName: 'db',
      volumeNames: ['pgdata'],
      targets: [LOCAL],
      image: DEFAULT_AGENT_IMAGE,
      healthMaxAgeSeconds: 2 * 86400,
      networkTimeoutSeconds: 21600,
      timeZone: 'UTC',
      tags: ['cdktf-container-backup', 'db'],
      readDataSubsets: 28,
      notify: false,
      recoveryPointObjectiveMinutes: undefined,
    });
    expect(plan.schedule.expression).toBe('0 2 * * *');
    expect(plan.pruneSchedule.expression).toBe('0 4 * * 0');
    expect(plan.retention.forgetArguments).toEqual(Retention.standard().forgetArguments);
    expect(plan.quiesce.mode).toBe(Quiesce.none().mode);
    expect(plan.verification.readAllDataWithinDays).toBe(Verification.standard().readAllDataWithinDays);
    expect(plan.site.name).toBe(Site.dockerHost().name);
  });

  test('binds the targets at the resolved site, after the declaration passed its checks', () => {
    const sites: Site[] = [];
    const office = Site.named('office');
    resolveBackupPlan('app/db', declared({ site: office }), (site) => (sites.push(site), [LOCAL]));
    expect(sites).toEqual([office]);
    const bind = jest.fn(() => [LOCAL]);
    expect(() => resolveBackupPlan('app/db', declared({ targets: [] }), bind)).toThrow(ConfigurationError);
    expect(bind).not.toHaveBeenCalled();
  });

  test.each([
    ['no volumes', declared({ sources: [] }), 'app/db: the container has a backup but no volumes'],
    ['an unpinned image', declared({ image: 'restic/restic:latest' }), 'is not pinned by digest'],
    ['a timeout under 10 s', declared({ networkTimeoutSeconds: 5 }), 'networkTimeoutSeconds must be a whole number of seconds from 10 to 86400, got 5'],
    ['a health limit under the longest gap', declared({ healthMaxAgeSeconds: 3600 }), 'healthMaxAgeSeconds 3600 is shorter than the schedule\'s longest gap'],
  ])('refuses %s, naming the construct', (_what, input, message) => {
    expect(() => resolveBackupPlan('app/db', input as any, () => [LOCAL])).toThrow(message);
  });

  test('refuses two targets of one name, and a local target inside a protected volume', () => {
    expect(() => resolveBackupPlan('app/db', declared({ targets: [TARGET, TARGET] }), () => [LOCAL, LOCAL])).toThrow('two storage targets are named "local"');
    const inside = { ...LOCAL, hostPath: '/var/lib/docker/volumes/pgdata/_data/backup' };
    expect(() => resolveBackupPlan('app/db', declared(), () => [inside])).toThrow('lies inside the protected volume "pgdata"');
  });
});

describe('one plan, read by the constructs, the compliance model and the agent', () => {
  test('the sidecar, the topology and the agent.json carry the same decisions', () => {
    const stack = dockerStack('one-plan');
    const db = new ProtectedContainer(stack, 'db', {
      image: 'postgres:16',
      volumes: [{ name: 'pgdata', containerPath: '/var/lib/postgresql/data' }],
      backup: {
        targets: [StorageTarget.localPath({ hostPath: '/srv/backup/db', name: 'local' })],
        schedule: Schedule.cron('15 */6 * * *'),
        recoveryPointObjectiveMinutes: 480,
      },
    });
    const resolved = db.sidecar!.resolved;
    const topology = subjectOf(db)!.topology;
    const agent = agentPlanOf(synthJson(stack), 'db');
    // the construct's own fields are the plan's
    expect(db.sidecar!.schedule).toBe(resolved.schedule);
    expect(db.sidecar!.targets).toBe(resolved.targets);
    // the compliance model reads the same plan
    expect(topology.data.backup).toMatchObject({
      scheduleExpression: '15 */6 * * *',
      maxIntervalSeconds: resolved.schedule.maxIntervalSeconds,
      retentionForgetArguments: resolved.retention.forgetArguments,
      recoveryPointObjectiveMinutes: 480,
    });
    // and the agent is told exactly that
    expect(agent).toMatchObject({
      schedule: { expression: '15 */6 * * *', minutes: [15], hours: [0, 6, 12, 18] },
      healthMaxAgeSeconds: resolved.healthMaxAgeSeconds,
      networkTimeoutSeconds: resolved.networkTimeoutSeconds,
      retention: resolved.retention.forgetArguments,
      verification: { readDataSubsets: resolved.readDataSubsets },
      tags: resolved.tags,
    });
  });
});
