import { TerraformVariable } from 'cdktf';
import { ProtectedContainer, StorageTarget } from '../src';
import { dockerStack, resources, synthJson } from './support/synth';
import { containerNamed } from './support/sidecar-harness';

describe('ProtectedContainer', () => {
  test('creates the container with its image, environment, ports, restart policy and volumes', () => {
    // GIVEN
    const stack = dockerStack();
    const password = new TerraformVariable(stack, 'pw', { type: 'string', sensitive: true });
    // WHEN
    new ProtectedContainer(stack, 'db', {
      image: 'postgres:16',
      environment: { POSTGRES_PASSWORD: password.stringValue, PGDATA: '/var/lib/postgresql/data/pgdata' },
      ports: [{ containerPort: 5432 }],
      volumes: [
        { name: 'pgdata', containerPath: '/var/lib/postgresql/data' },
        { name: 'shared-conf', containerPath: '/etc/shared', existing: true },
      ],
    });
    const json = synthJson(stack);
    // THEN
    const [db] = resources(json, 'docker_container');
    expect(db).toMatchObject({
      name: 'db',
      image: 'postgres:16',
      restart: 'unless-stopped',
      env: ['POSTGRES_PASSWORD=${var.pw}', 'PGDATA=/var/lib/postgresql/data/pgdata'],
      ports: [{ internal: 5432, external: 5432, protocol: 'tcp', ip: '127.0.0.1' }],
    });
    expect(db.mounts).toEqual([
      { type: 'volume', source: expect.stringMatching(/^\$\{docker_volume\.db_volume-pgdata_[0-9A-F]+\.name\}$/), target: '/var/lib/postgresql/data' },
      { type: 'volume', source: 'shared-conf', target: '/etc/shared' },
    ]);
    // only the created volume is a resource, and it is protected from `terraform destroy`
    const volumes = resources(json, 'docker_volume');
    expect(volumes.map((v) => v.name)).toEqual(['pgdata']);
    expect(volumes[0].lifecycle.prevent_destroy).toBe(true);
  });

  test('without backup, no sidecar is deployed', () => {
    const stack = dockerStack();
    new ProtectedContainer(stack, 'cache', { image: 'redis:7' });
    expect(resources(synthJson(stack), 'docker_container').map((c) => c.name)).toEqual(['cache']);
  });

  test('with backup, the sidecar depends on the volumes it mounts, and still on its installer', () => {
    const stack = dockerStack();
    new ProtectedContainer(stack, 'db', {
      image: 'postgres:16',
      volumes: [{ name: 'pgdata', containerPath: '/data' }],
      backup: { targets: [StorageTarget.localPath({ hostPath: '/mnt/b' })] },
    });
    const json = synthJson(stack);
    const sidecar = containerNamed(json, 'db-backup');
    expect(sidecar.depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/^docker_volume\.db_volume-pgdata/)]));
    // the installer fills the install volume before the sidecar starts
    const [installerId] = Object.entries<any>(json.resource.docker_container).find(([, c]) => c.name === 'db-backup-install')!;
    expect(sidecar.depends_on).toContain(`docker_container.${installerId}`);
  });
});
