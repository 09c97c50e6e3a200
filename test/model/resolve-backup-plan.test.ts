/**
 * resolveBackupPlan decides a container's backup once, every default filled in; BackupSidecar
 * wires it, the compliance model reads it, and the agent's plan is written from it.
 */
import { TerraformOutput, TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { BackupSidecarProps, ProtectedContainer, Quiesce, RepositoryPassword, Retention, Schedule, Site, StorageTarget, Verification } from '../../src';
import { ConfigurationError } from '../../src/core/configuration-error';
import { BackupBinding, DEFAULT_AGENT_IMAGE, resolveBackupPlan } from '../../src/model/resolve-backup-plan';
import { SidecarHost } from '../../src/model/sidecar-runtime';
import type { StorageTargetConfig } from '../../src/targets/storage-target-config';
import { handedSubjectOf } from '../../src/compliance/hooks';
import { agentPlanOf, dockerStack, synthJson } from '../support/synth';

const LOCAL = { name: 'local', repository: '/backup/targets/local', hostPath: '/srv/backup/db', medium: 'disk', site: Site.dockerHost() } as any;
const TARGET = StorageTarget.localPath({ hostPath: '/srv/backup/db', name: 'local' });
const declared = (overrides: object = {}): BackupSidecarProps => ({ containerName: 'db', sources: [{ volumeName: 'pgdata' }], targets: [TARGET], ...overrides });
/** What a construct hands the resolver: its targets bound, and its stack's password variable. */
const binding = (targets: (site: Site) => StorageTargetConfig[], stack = new TerraformStack(Testing.app(), 'passwords')): BackupBinding => ({
  targets,
  passwordVariable: (name) => RepositoryPassword.fromVariable(stack, name),
});
/** The resolved backup of a container's sidecar. */
const resolve = (input: BackupSidecarProps, targets: (site: Site) => StorageTargetConfig[]) =>
  resolveBackupPlan('app/db', input, SidecarHost.CONTAINER, binding(targets)).backup;

describe('resolveBackupPlan', () => {
  test('fills in every default', () => {
    const plan = resolve(declared(), () => [LOCAL]);
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
    resolve(declared({ site: office }), (site) => (sites.push(site), [LOCAL]));
    expect(sites).toEqual([office]);
    const bind = jest.fn(() => [LOCAL]);
    expect(() => resolve(declared({ targets: [] }), bind)).toThrow(ConfigurationError);
    expect(bind).not.toHaveBeenCalled();
  });

  test.each([
    ['no volumes', declared({ sources: [] }), 'app/db: the container has a backup but no volumes'],
    ['an unpinned image', declared({ image: 'restic/restic:latest' }), 'is not pinned by digest'],
    ['a timeout under 10 s', declared({ networkTimeoutSeconds: 5 }), 'networkTimeoutSeconds must be a whole number of seconds from 10 to 86400, got 5'],
    ['a health limit under the longest gap', declared({ healthMaxAgeSeconds: 3600 }), 'healthMaxAgeSeconds 3600 is shorter than the schedule\'s longest gap'],
  ])('refuses %s, naming the construct', (_what, input, message) => {
    expect(() => resolve(input as any, () => [LOCAL])).toThrow(message);
  });

  test('refuses two targets of one name, and a local target inside a protected volume', () => {
    expect(() => resolve(declared({ targets: [TARGET, TARGET] }), () => [LOCAL, LOCAL])).toThrow('two storage targets are named "local"');
    const inside = { ...LOCAL, hostPath: '/var/lib/docker/volumes/pgdata/_data/backup' };
    expect(() => resolve(declared(), () => [inside])).toThrow('lies inside the protected volume "pgdata"');
  });

  test('decides the password: the declared one, else the stack\'s sensitive variable restic_password, made only then', () => {
    // GIVEN a stack with no password variable yet
    const stack = new TerraformStack(Testing.app(), 'db-host');
    // WHEN the backup declares no password
    const byDefault = resolveBackupPlan('app/db', declared(), SidecarHost.CONTAINER, binding(() => [LOCAL], stack));
    // THEN the resolver asked for the variable, and says where the password comes from
    const variable = stack.node.findAll().find((n) => n instanceof TerraformVariable) as TerraformVariable;
    expect(variable.friendlyUniqueId).toBe('restic_password');
    new TerraformOutput(stack, 'password', { value: byDefault.password, sensitive: true });
    expect(JSON.parse(Testing.synth(stack)).output.password.value).toBe('${var.restic_password}');
    expect(byDefault.backup.passwordSource).toBe('the Terraform variable "restic_password"');
    // WHEN one is declared, no variable is asked for
    const token = variable.stringValue;
    const declaredPassword = RepositoryPassword.fromString(token, { escrowedIn: 'Vault kv/backup/restic' });
    const asked = jest.fn();
    const withOwn = resolveBackupPlan('app/db', declared({ password: declaredPassword }), SidecarHost.CONTAINER, { targets: () => [LOCAL], passwordVariable: asked });
    expect(asked).not.toHaveBeenCalled();
    expect(withOwn.password).toBe(token);
    expect(withOwn.backup).toMatchObject({ passwordSource: 'a Terraform reference', passwordEscrowedIn: 'Vault kv/backup/restic' });
  });

  test('refuses a literal webhook URL, and keeps a token one for the renderers', () => {
    expect(() => resolve(declared({ notifyUrl: 'https://hooks.example.com/T0K3N' }), () => [LOCAL])).toThrow(
      'app/db: notifyUrl is a literal string; a webhook URL carries its token',
    );
    const stack = new TerraformStack(Testing.app(), 'hooks');
    const url = new TerraformVariable(stack, 'notify_url', { type: 'string', sensitive: true }).stringValue;
    const decision = resolveBackupPlan('app/db', declared({ notifyUrl: url }), SidecarHost.CONTAINER, binding(() => [LOCAL], stack));
    expect(decision.notifyUrl).toBe(url);
    expect(decision.backup.notify).toBe(true);
    // a webhook is reached through the egress network, even when every target is a host folder
    expect(decision.runtime.networks).toEqual({ declared: [], egress: true, dockerApi: false });
  });

  test('refuses to stop a swarm service, not a container', () => {
    const stop = declared({ quiesce: Quiesce.stop() });
    expect(() => resolveBackupPlan('app/db', stop, SidecarHost.SWARM_SERVICE, binding(() => [LOCAL]))).toThrow('a swarm service cannot be stopped for a backup');
    expect(resolve(stop, () => [LOCAL]).quiesce.mode).toBe(Quiesce.stop().mode);
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
    const topology = handedSubjectOf(db)!.topology;
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
