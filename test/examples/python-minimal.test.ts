/**
 * examples/python-minimal/main.py against the Python bindings jsii generates: jsii-pacmak
 * (--code-only -t python) writes the bindings of this package, cdktf, the Docker provider and
 * constructs to a temp folder, and test/support/check_python_names.py reads main.py and the
 * generated modules with Python's `ast`: every imported class, every constructor and factory
 * called, every keyword argument, enum member and property main.py uses must exist there.
 * A copy of main.py with misspelt names proves the check bites. Python cannot run the app here
 * (the jsii runtime is not installed), so this is a check of names and signatures, not a synth.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ROOT, ensureBuiltLocked, npx, withBuildLock } from '../support/jsii-build';

const EXAMPLE = path.join(ROOT, 'examples', 'python-minimal');
const CHECKER = path.join(ROOT, 'test', 'support', 'check_python_names.py');

function check(app: string, src: string): { code: number | null; checked: string[]; errors: string[]; stderr: string } {
  const result = spawnSync('python3', [CHECKER, app, src], { encoding: 'utf8' });
  const parsed = result.stdout ? JSON.parse(result.stdout) : { checked: [], errors: [] };
  return { code: result.status, stderr: result.stderr, ...parsed };
}

describe('examples/python-minimal', () => {
  let work: string;
  let src: string;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'python-bindings-'));
    const deps = ['cdktf', '@cdktf/provider-docker', 'constructs'].map((d) => path.join(ROOT, 'node_modules', d));
    const { code, output } = await withBuildLock(() => {
      ensureBuiltLocked();
      return npx(['jsii-pacmak', '--code-only', '-t', 'python', '-o', work, ROOT, ...deps]);
    });
    if (code !== 0) {
      throw new Error(`jsii-pacmak failed:\n${output}`);
    }
    src = path.join(work, 'python', 'src');
  }, 600_000);

  afterAll(() => work && fs.rmSync(work, { recursive: true, force: true }));

  test('the generated bindings hold the modules main.py imports', () => {
    for (const module of ['cdktf_container_backup', 'cdktf', 'cdktf_cdktf_provider_docker/provider', 'constructs']) {
      expect(fs.existsSync(path.join(src, module, '__init__.py'))).toBe(true);
    }
  });

  test('every name, keyword argument and enum member main.py uses exists in the generated Python', () => {
    // WHEN
    const result = check(path.join(EXAMPLE, 'main.py'), src);
    // THEN
    expect(result.stderr).toBe('');
    expect(result.errors).toEqual([]);
    expect(result.code).toBe(0);
    expect(result.checked).toEqual(
      expect.arrayContaining([
        'cdktf_container_backup.ProtectedContainer',
        'cdktf_cdktf_provider_docker.provider.DockerProvider',
        'ProtectedContainer(volumes=)',
        'ContainerVolume(container_path=)',
        'BackupOptions(targets=)',
        'StorageTarget.local_path(host_path=)',
        'StorageTarget.s3_compatible(immutable_retention_days=)',
        'StorageTarget.s3_compatible(secret_access_key=)',
        'Retention.gfs(monthly=)',
        'Schedule.daily(hour=)',
        'Site.named',
        'Quiesce.stop',
        'Medium.DISK',
        'ComplianceLevel.THREE_TWO_ONE_ONE_ZERO',
        'ThreeTwoOneChecks(level=)',
        'TerraformVariable.string_value',
        'TerraformStack.__init__(2 positional)',
        'Aspects.add',
      ]),
    );
  });

  test('the check fails on names the bindings do not have (camelCase, misspelt, unknown)', () => {
    // GIVEN
    const source = fs.readFileSync(path.join(EXAMPLE, 'main.py'), 'utf8');
    const broken = source
      .replace('immutable_retention_days=', 'immutableRetentionDays=')
      .replace('StorageTarget.local_path(', 'StorageTarget.localPath(')
      .replace('Medium.DISK', 'Medium.DISC')
      .replace('.string_value', '.stringValue')
      .replace('    ThreeTwoOneChecks,\n)', '    ThreeTwoOneChecks,\n    TwoTwoOneChecks,\n)');
    expect(broken).not.toBe(source);
    const file = path.join(work, 'broken.py');
    fs.writeFileSync(file, broken);
    // WHEN
    const result = check(file, src);
    // THEN
    expect(result.code).toBe(1);
    expect(result.errors.join('\n')).toMatch(/has no keyword argument 'immutableRetentionDays'/);
    expect(result.errors.join('\n')).toMatch(/StorageTarget has no method localPath/);
    expect(result.errors.join('\n')).toMatch(/Medium has no member DISC/);
    expect(result.errors.join('\n')).toMatch(/TerraformVariable has no member stringValue/);
    expect(result.errors.join('\n')).toMatch(/cdktf_container_backup has no TwoTwoOneChecks/);
  });

  test('it is the Python version of examples/s3-compatible: every string it uses appears in the TypeScript one', () => {
    const strings = spawnSync(
      'python3',
      [
        '-c',
        [
          'import ast, json, sys',
          'tree = ast.parse(open(sys.argv[1]).read())',
          'docs = {id(n.body[0].value) for n in ast.walk(tree) if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef)) and n.body and isinstance(n.body[0], ast.Expr)}',
          'print(json.dumps(sorted({n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs})))',
        ].join('\n'),
        path.join(EXAMPLE, 'main.py'),
      ],
      { encoding: 'utf8' },
    );
    expect(strings.stderr).toBe('');
    const values: string[] = JSON.parse(strings.stdout);
    expect(values).toEqual(expect.arrayContaining(['gitea/gitea:1.22', 'https://s3.eu-central-2.wasabisys.com', 'wasabi-eu-central-2']));
    const typescript = fs.readFileSync(path.join(ROOT, 'examples', 's3-compatible', 'main.ts'), 'utf8');
    expect(values.filter((v) => !typescript.includes(`'${v}'`))).toEqual([]);
  });

  test('its cdktf.json runs main.py with Python, and requirements.txt pins the versions the TypeScript side uses', () => {
    const config = JSON.parse(fs.readFileSync(path.join(EXAMPLE, 'cdktf.json'), 'utf8'));
    expect(config).toMatchObject({ language: 'python', app: 'python3 main.py' });
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const requirements = fs.readFileSync(path.join(EXAMPLE, 'requirements.txt'), 'utf8');
    expect(requirements).toContain(`cdktf==${pkg.devDependencies.cdktf}`);
    expect(requirements).toContain(`cdktf-cdktf-provider-docker==${pkg.devDependencies['@cdktf/provider-docker']}`);
    expect(requirements).toContain(`constructs==${pkg.devDependencies.constructs}`);
    expect(requirements).toContain(`cdktf-container-backup==${pkg.version}`);
  });
});
