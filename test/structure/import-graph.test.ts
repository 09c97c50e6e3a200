/**
 * The layout of src/ (docs/DESIGN: "the model decides, the constructs render, the rules read
 * the model"), checked on its import graph: no cycle, nothing at the root but index.ts, the
 * compliance pack blind to the renderers, the model and its value classes blind to the
 * renderers and the pack, and core/ at the bottom.
 */
import * as path from 'path';
import { folderOf, importCycles, importGraph } from './import-graph';

const SRC = path.join(__dirname, '..', '..', 'src');
const RENDERERS = ['docker', 'swarm', 'aws'];

describe('the import graph of src/', () => {
  // GIVEN every .ts file of src/ and its relative imports
  const graph = importGraph(SRC);

  /** The imports of the files of `folder` that land in one of `forbidden`, as "from -> to". */
  function importsInto(folder: string, forbidden: string[]): string[] {
    return [...graph.entries()]
      .filter(([file]) => folderOf(file) === folder)
      .flatMap(([file, targets]) => targets.filter((t) => forbidden.includes(folderOf(t))).map((t) => `${file} -> ${t}`));
  }

  test('reads the files it should (the walk itself works)', () => {
    expect(graph.get('index.ts')?.length).toBeGreaterThan(20);
    expect(graph.has(path.join('model', 'resolve-backup-plan.ts'))).toBe(true);
  });

  test('has no cycle', () => {
    expect(importCycles(graph)).toEqual([]);
  });

  test('holds no file at the root of src/ but index.ts', () => {
    expect([...graph.keys()].filter((f) => folderOf(f) === '')).toEqual(['index.ts']);
  });

  test('compliance/ imports nothing from docker/, swarm/ or aws/', () => {
    expect(importsInto('compliance', RENDERERS)).toEqual([]);
  });

  test.each(['model', 'policy'])('%s/ imports nothing from the renderers or the compliance pack', (folder) => {
    expect(importsInto(folder, [...RENDERERS, 'compliance'])).toEqual([]);
  });

  test('core/ (errors, validation), which every folder uses, imports no other folder of src/', () => {
    const others = [...new Set([...graph.keys()].map(folderOf))].filter((f) => f !== 'core' && f !== '');
    expect(importsInto('core', others)).toEqual([]);
  });
});
