/**
 * The sidecar's runtime is decided once (model/sidecar-runtime.ts) and rendered by both the
 * container's BackupSidecar and the swarm's BackupService; they differ only where the engine
 * forces it.
 */
import { Quiesce } from '../../src';
import { SidecarHost, SidecarRuntimeInput, sidecarRuntime } from '../../src/model/sidecar-runtime';

const input = (overrides: Partial<SidecarRuntimeInput> = {}): SidecarRuntimeInput => ({
  workload: 'db',
  host: SidecarHost.CONTAINER,
  scheduleExpression: '0 2 * * *',
  quiesce: Quiesce.none(),
  declaredNetworks: [],
  egress: false,
  ...overrides,
});

describe('sidecarRuntime', () => {
  test.each([SidecarHost.CONTAINER, SidecarHost.SWARM_SERVICE])('gives a %s the same stop grace: 60 s for restic to release its lock, plus the time to undo a stop or pause', (host) => {
    expect(sidecarRuntime(input({ host })).stopGraceSeconds).toBe(60);
    expect(sidecarRuntime(input({ host, quiesce: Quiesce.exec(['true']) })).stopGraceSeconds).toBe(60);
    expect(sidecarRuntime(input({ host, quiesce: Quiesce.pause({ timeoutSeconds: 45 }) })).stopGraceSeconds).toBe(105);
    expect(sidecarRuntime(input({ host, quiesce: Quiesce.stop({ timeoutSeconds: 30 }) })).stopGraceSeconds).toBe(90);
  });

  test('names, labels, scratch and logs are the same on both hosts but for the role and the restic host', () => {
    const container = sidecarRuntime(input());
    const service = sidecarRuntime(input({ host: SidecarHost.SWARM_SERVICE }));
    expect(container).toMatchObject({
      name: 'db-backup',
      hostname: 'db-backup',
      stateVolume: 'db-backup-state',
      installVolume: 'db-backup-install',
      tmpfsBytes: 512 * 1024 * 1024,
      logOptions: { 'max-size': '10m', 'max-file': '5' },
      readCapability: 'DAC_READ_SEARCH',
    });
    expect(container.labels).toEqual([
      { label: 'cdktf-container-backup.role', value: 'backup-sidecar' },
      { label: 'cdktf-container-backup.protects', value: 'db' },
      { label: 'cdktf-container-backup.schedule', value: '0 2 * * *' },
    ]);
    const { hostname, labels, readCapability, ...rest } = service;
    expect(rest).toEqual((({ hostname: _h, labels: _l, readCapability: _c, ...r }) => r)(container));
    expect(hostname).toBe('{{.Node.Hostname}}');
    expect(labels[0]).toEqual({ label: 'cdktf-container-backup.role', value: 'backup-service' });
    // swarm drops the seccomp profile that makes DAC_READ_SEARCH safe
    expect(readCapability).toBe('DAC_OVERRIDE');
  });

  test('joins the declared networks, then the egress network, then the Docker API proxy\'s', () => {
    expect(sidecarRuntime(input()).networks).toEqual({ declared: [], egress: false, dockerApi: false });
    const runtime = sidecarRuntime(input({ declaredNetworks: ['rest'], egress: true, quiesce: Quiesce.pause() }));
    expect(runtime.networks).toEqual({ declared: ['rest'], egress: true, dockerApi: true });
    expect(runtime.dockerApi).toBe(true);
  });
});
