/**
 * The checks across the constructs of one Docker host (one stack), on its ledger: a Docker name
 * made twice, two backups in one host folder, and a backup on its own whose source volume the
 * stack does not declare. Each finding names both constructs (or the names the stack does
 * declare) and the fix. Pure: no cdktf here.
 */
import * as path from 'path';
import { ConfigurationError, show } from '../core/configuration-error';
import { MountType } from './data-mount';
import { BackupUse, DockerObjectKind, HostLedger, LedgerFinding, LocalFolder, NameClaim } from './host-ledger';
import { nearMiss } from './near-miss';

/** Every refusal the ledger of one stack holds, in the order of the constructs. */
export function checkHostLedger(ledger: HostLedger): LedgerFinding[] {
  return [...duplicateNames(ledger), ...sharedFolders(ledger), ...undeclaredSources(ledger)];
}

// ---- A Docker name made twice ----------------------------------------------------------------

/**
 * Docker keeps one object of each kind per name. Two claims of one name by different
 * constructs (or twice by one) are refused when the library makes at least one of them; one
 * finding per pair of constructs, listing every name they share.
 */
function duplicateNames(ledger: HostLedger): LedgerFinding[] {
  const first = new Map<string, NameClaim>();
  const pairs = new Map<string, { a: NameClaim[]; b: NameClaim[] }>();
  for (const claim of ledger.names) {
    const key = `${claim.kind}\u0000${claim.name}`;
    const earlier = first.get(key);
    if (earlier === undefined) {
      first.set(key, claim);
      continue;
    }
    if (!earlier.library && !claim.library) {
      continue;
    }
    const pair = `${earlier.owner}\u0000${claim.owner}`;
    const entry = pairs.get(pair) ?? { a: [], b: [] };
    entry.a.push(earlier);
    entry.b.push(claim);
    pairs.set(pair, entry);
  }
  return [...pairs.values()].map(({ a, b }) => {
    // Reported on the later construct, unless it is the user's own resource.
    const [here, there] = b[0].library ? [b, a] : [a, b];
    const where = here[0].owner;
    return { where, message: nameTakenTwice(where, here, there).message };
  });
}

function nameTakenTwice(where: string, here: NameClaim[], there: NameClaim[]): ConfigurationError {
  const other = there[0].owner;
  const list = here.map((c) => `${c.kind} ${show(c.name)}`);
  const names = list.length === 1 ? `the Docker ${list[0]} is` : `the Docker names ${list.join(', ')} are`;
  const kinds = new Set(here.map((c) => c.kind));
  const why: string[] = [];
  if (kinds.has(DockerObjectKind.VOLUME)) {
    why.push('two docker_volume resources with one name are one Docker volume: each container would mount the other\'s files, and destroying either would remove the data of both');
  }
  if ([...kinds].some((k) => k !== DockerObjectKind.VOLUME)) {
    why.push('Docker keeps one container, service or network per name, so the second would fail to deploy halfway through, after the first was made');
  }
  const setBy = (claims: NameClaim[]) => [...new Set(claims.map((c) => c.setBy))].join(' and ');
  const rename = other === where ? `rename it: ${setBy(here)} or ${setBy(there)}` : `rename one: ${setBy(here)} of ${where}, or ${setBy(there)} of ${other}`;
  const declared = here.find((c) => c.declaredVolume) ?? there.find((c) => c.declaredVolume);
  const share =
    declared !== undefined && other !== where
      ? `; to share the volume on purpose, declare it \`existing: true\` in the \`volumes\` of ${declared.owner} (${declared.owner === where ? other : where} makes it)`
      : '';
  const by = other === where ? 'twice by it' : `by ${other} too`;
  return new ConfigurationError(where, `${names} made ${by}; ${why.join('; ')}`, `${rename}${share}`);
}

// ---- Two backups in one host folder ----------------------------------------------------------

/** Whether `inner` is `outer` or a folder below it. */
function within(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer === '/' ? '/' : `${outer}/`);
}

/**
 * A local target's folder is its backup's own: the installer keeps it root-owned and 0700 and
 * moves a repository it finds directly in it into `repository`, which the sidecar writes. Two
 * targets in one folder would be one restic repository managed by two installers; a folder
 * inside another is managed by the outer one's installer (and, inside its `repository`, read
 * and written by the other sidecar). Refused: a folder per target costs nothing.
 */
function sharedFolders(ledger: HostLedger): LedgerFinding[] {
  const folders = ledger.backups.flatMap((backup) => backup.localFolders.map((folder) => ({ backup, folder })));
  const findings: LedgerFinding[] = [];
  folders.forEach((later, j) => {
    const earlier = folders.slice(0, j).find((e) => within(later.folder.hostPath, e.folder.hostPath) || within(e.folder.hostPath, later.folder.hostPath));
    if (earlier !== undefined) {
      findings.push({ where: later.backup.path, message: sharedFolder(later.backup, later.folder, earlier.backup, earlier.folder).message });
    }
  });
  return findings;
}

function sharedFolder(backup: BackupUse, folder: LocalFolder, otherBackup: BackupUse, other: LocalFolder): ConfigurationError {
  const where = backup.path;
  const self = otherBackup.path === where;
  const theirs = self ? `the local target ${show(other.target)}` : `the local target ${show(other.target)} of ${otherBackup.path}`;
  const mine = `the local target ${show(folder.target)} (${folder.hostPath})`;
  let problem: string;
  let parent: string;
  if (folder.hostPath === other.hostPath) {
    parent = folder.hostPath;
    problem = self
      ? `${mine} has the same folder as ${theirs}: the sidecar would write one restic repository (${folder.hostPath}/repository) twice and count it as two copies`
      : `${mine} has the same folder as ${theirs}: both sidecars would write one restic repository (${folder.hostPath}/repository) and both installers would manage the folder (root-owned, mode 0700, moving a repository they find in it), so one sidecar's prune or check would lock the other out, and their snapshots would share one repository and its password`;
  } else {
    const [inner, outer, outerOwner] = within(folder.hostPath, other.hostPath) ? [folder, other, theirs] : [other, folder, mine];
    parent = outer.hostPath;
    const inRepository = within(inner.hostPath, `${outer.hostPath}/repository`);
    problem =
      `${mine} and ${theirs} are nested: ${inner.hostPath} lies inside the folder of ${outerOwner}, which its installer keeps root-owned with mode 0700 as its own` +
      (inRepository
        ? `, inside the restic repository it writes: restic would find foreign files there, and the one sidecar could read and delete the other's backups`
        : ', so each installer would manage folders of the other\'s');
  }
  const suggestion = (b: BackupUse, f: LocalFolder) => path.posix.join(parent, b.workload === (b === backup ? otherBackup : backup).workload ? `${b.workload}-${f.target}` : b.workload);
  const a = suggestion(backup, folder);
  const b = suggestion(otherBackup, other);
  return new ConfigurationError(
    where,
    problem,
    `give each local target a folder of its own, side by side, none inside another: e.g. ${show(a)} for ${show(folder.target)} of ${where} and ${show(b === a ? `${b}-2` : b)} for ${show(other.target)}${self ? '' : ` of ${otherBackup.path}`}`,
  );
}

// ---- A source volume nobody declares ---------------------------------------------------------

/**
 * A sidecar (or backup service) on its own reads volumes by name. Docker makes an empty volume
 * for a name that does not exist, and the backup would save that, every night, without an
 * error: so every source of one is a volume the stack declares, a `docker_volume` or a mount of
 * one of its containers or services (not the backups' own), unless marked `external`.
 */
function undeclaredSources(ledger: HostLedger): LedgerFinding[] {
  const declared = new Set<string>(ledger.names.filter((c) => c.kind === DockerObjectKind.VOLUME).map((c) => c.name));
  for (const workload of ledger.workloads.filter((w) => !w.plumbing)) {
    for (const mount of workload.mounts.filter((m) => m.kind === MountType.VOLUME)) {
      declared.add(mount.source);
    }
  }
  // The library's own volumes (state, install) are nobody's data: not offered as a near miss.
  const offered = [...declared].filter((v) => !/-backup-(state|install)$/.test(v)).sort();
  const findings: LedgerFinding[] = [];
  for (const backup of ledger.backups.filter((b) => b.standalone)) {
    for (const source of backup.sources.filter((s) => !declared.has(s))) {
      findings.push({ where: backup.path, message: undeclaredSource(backup, source, ledger.stack, offered).message });
    }
  }
  return findings;
}

function undeclaredSource(backup: BackupUse, source: string, stack: string, declared: string[]): ConfigurationError {
  const guess = nearMiss(source, declared);
  const made = backup.service
    ? 'no docker_volume has that name and no service or container of the stack mounts it, so swarm would make a new, empty volume of that name on each node'
    : 'no docker_volume has that name and no container of the stack mounts it, so Docker would make a new, empty volume of that name';
  const shown = declared.length > 10 ? `${declared.slice(0, 10).map((d) => show(d)).join(', ')}, ...` : declared.map((d) => show(d)).join(', ');
  const known = declared.length === 0 ? 'the stack declares no volume: declare it (a docker_volume, or the container that mounts it)' : `the stack declares ${shown}`;
  return new ConfigurationError(
    backup.path,
    `the source volume ${show(source)} is declared nowhere in the stack ${show(stack)}: ${made}, and the backup would save that one every time while the data stays elsewhere`,
    `${guess !== undefined ? `name the volume the ${backup.service ? 'service' : 'container'} mounts: did you mean ${show(guess)}? ` : ''}${known}; for a volume made outside this stack (docker compose, by hand), mark the source \`external: true\``,
  );
}
