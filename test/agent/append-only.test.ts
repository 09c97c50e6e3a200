/**
 * An append-only REST target (`rclone serve restic --append-only`, the server refuses to
 * delete or overwrite repository data): the construct tells the agent
 * (the plan's `targets[i].appendOnly: true`), which skips `restic forget` and `restic prune` for
 * that target and says so in status.json (retention `skipped`, reason `append-only`), never as
 * a failure, and still verifies it. Beside it a local folder with the same policy shows the
 * policy is real: there, snapshots do go.
 *
 * The sidecar is the one the library synthesizes (test/support/synthesized-sidecar.ts, protocolSidecar), the REST
 * server's self-signed certificate travelling as the target's `caCertificate`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ProtocolSidecar, protocolSidecar } from '../support/synthesized-sidecar';
import { RestServer, startRestServer } from '../support/servers/rest-server';

// A policy that would remove snapshots every cycle after the first: restic would delete them on
// the REST server, which answers 403 (protocolSidecar's own policy keeps 100, which never asks).
const KEEP_ONE = { retention: ['--keep-last', '1'] };
const CYCLES = 10;

describe('an append-only REST target', () => {
  let rest: RestServer | undefined;
  let sidecar: ProtocolSidecar;

  beforeAll(async () => {
    // GIVEN an append-only REST server and a sidecar synthesized with a local target and it
    rest = await startRestServer({ appendOnly: true });
    sidecar = protocolSidecar({ containerName: 'ledger', rest });
    fs.writeFileSync(path.join(sidecar.sourceDir, 'entries.log'), 'opening balance\n');
  });

  afterAll(async () => {
    await rest?.stop();
    sidecar?.cleanup();
  });

  test('the construct tells the agent: appendOnly on the REST target only, its CA as an installed file', () => {
    const plan = JSON.parse(fs.readFileSync(path.join(sidecar.installDir, 'agent.json'), 'utf8'));
    expect(sidecar.targets).toEqual(['local', 'rest']);
    expect(plan.targets.map((t: any) => [t.name, t.appendOnly])).toEqual([
      ['local', false],
      ['rest', true],
    ]);
    expect(plan.targets[0].caCertificateFile).toBeNull();
    expect(plan.targets[1].caCertificateFile).toBe('/backup/install/secrets/target-2-ca-certificate.pem');
    // the installer put the server's certificate where the plan says
    const installed = path.join(sidecar.installDir, 'secrets', 'target-2-ca-certificate.pem');
    expect(fs.readFileSync(installed, 'utf8')).toBe(fs.readFileSync(rest!.caCertPath!, 'utf8'));
  });

  test(`${CYCLES} consecutive cycles are all ok, retention skipped (append-only) on the REST target, health green`, async () => {
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      // GIVEN a change
      fs.appendFileSync(path.join(sidecar.sourceDir, 'entries.log'), `entry ${cycle}\n`);
      // WHEN a cycle runs, with the check due (the daemon marks it once a day)
      sidecar.markDue('check');
      const r = await sidecar.run(['run'], { plan: KEEP_ONE });
      // THEN it is ok, and nothing in it is an error
      expect({ cycle, code: r.code, errors: r.stderr.split('\n').filter((l) => / (ERROR|WARN) /.test(l)) }).toEqual({ cycle, code: 0, errors: [] });
      expect(r.stderr).toMatch(/ INFO step=retention target=rest skipped: append-only \(the server refuses deletes; pruning this repository is the server administrator's job\)/);
      const status = sidecar.status();
      expect(status.state).toBe('ok');
      const byName = Object.fromEntries(status.targets.map((t: any) => [t.name, t]));
      expect(byName.rest).toMatchObject({ result: 'ok', snapshot_id: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(byName.rest.retention).toMatchObject({ result: 'skipped', reason: 'append-only', error: null, removed: null });
      // the local target applies the same policy: from the second cycle on, one snapshot goes
      expect(byName.local.retention).toMatchObject({ result: 'ok', removed: cycle === 1 ? 0 : 1, kept: 1 });
      // verification still runs on the append-only target
      const check = status.verification.targets.find((t: any) => t.name === 'rest');
      expect(check).toMatchObject({ result: 'ok', epoch: expect.any(Number) });
      expect(check.epoch).toBeGreaterThanOrEqual(status.targets.find((t: any) => t.name === 'rest').last_success_epoch - 60);
    }
    // every snapshot is still on the server; the local folder kept the policy's one
    expect(sidecar.snapshots('rest')).toHaveLength(CYCLES);
    expect(sidecar.snapshots('local')).toHaveLength(1);
    expect(sidecar.status().verification.state).toBe('ok');
    // WHEN Docker runs the healthcheck
    const health = await sidecar.run([], { healthcheck: true });
    // THEN it is green
    expect({ code: health.code, out: health.stdout + health.stderr }).toMatchObject({ code: 0 });
  }, 600000);

  test('a due prune is skipped (append-only) on the REST target and done on the local one; the markers go', async () => {
    // GIVEN a prune the daemon made due on both (as an older configuration would have)
    const due = path.join(sidecar.stateDir, 'due');
    fs.mkdirSync(due, { recursive: true });
    fs.writeFileSync(path.join(due, 'prune.local'), '');
    fs.writeFileSync(path.join(due, 'prune.rest'), '');
    // WHEN the daemon's maintenance runs
    const r = await sidecar.run(['due']);
    // THEN
    expect(r.stderr).not.toMatch(/ ERROR /);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/ INFO step=prune target=rest skipped: append-only/);
    const prune = sidecar.status().prune;
    expect(prune.due).toEqual([]);
    expect(prune.targets).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'local', result: 'ok', error: null }),
        expect.objectContaining({ name: 'rest', result: 'skipped', reason: 'append-only', error: null }),
      ]),
    );
    expect(fs.readdirSync(due)).toEqual([]);
    // and `prune` by hand on it is no failure either
    const byHand = await sidecar.run(['prune', '--target', 'rest']);
    expect(byHand.code).toBe(0);
    expect(sidecar.snapshots('rest')).toHaveLength(CYCLES);
    expect(sidecar.restic('rest', ['check']).code).toBe(0);
  });

  test('without appendOnly the same policy fails retention on that server: what the flag prevents', async () => {
    // GIVEN the agent not told (as before issue 12), and a short network timeout: restic
    // retries each refused delete (403) for about 45 s before it gives up
    fs.appendFileSync(path.join(sidecar.sourceDir, 'entries.log'), 'one more\n');
    // WHEN
    const r = await sidecar.run(['run'], {
      plan: (plan: any) => {
        plan.retention = KEEP_ONE.retention;
        plan.targets[1].appendOnly = false;
        plan.networkTimeoutSeconds = 20;
      },
    });
    // THEN the backup is made, and the forget the server refuses fails retention
    expect(r.code).toBe(0);
    const rest = sidecar.status().targets.find((t: any) => t.name === 'rest');
    expect(rest.result).toBe('ok');
    expect(rest.retention.result).toBe('failed');
    expect(r.stderr).toMatch(/ ERROR step=retention target=rest failed: /);
    expect(sidecar.snapshots('rest')).toHaveLength(CYCLES + 1);
  }, 300000);

  test('a plan written for another agent version is a configuration error (exit 2): no repository is touched', async () => {
    // GIVEN a plan whose schema this agent does not read (appendOnly might mean something else there)
    fs.appendFileSync(path.join(sidecar.sourceDir, 'entries.log'), 'not backed up\n');
    // WHEN
    const r = await sidecar.run(['run'], { plan: { ...KEEP_ONE, schemaVersion: 1 } });
    // THEN
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ERROR step=config the plan \/backup\/agent\/\S+ has schema version 1, this agent reads version 3; re-deploy/);
    expect(r.stderr).not.toMatch(/step=(backup|retention|open)/);
    expect(sidecar.snapshots('rest')).toHaveLength(CYCLES + 1);
    expect(sidecar.snapshots('local')).toHaveLength(1);
  });
});
