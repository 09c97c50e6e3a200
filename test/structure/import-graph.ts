/**
 * The import graph of src/: each TypeScript file and the files it imports (relative imports
 * only; `import type` included, since a type cycle is still a cycle for the reader). Read with
 * TypeScript's own pre-processor, so comments and strings never count as imports.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

/** A file of src/, relative to src/ (`docker/backup-sidecar.ts`), and what it imports. */
export type ImportGraph = Map<string, string[]>;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

function resolveImport(fromFile: string, specifier: string): string | undefined {
  const base = path.resolve(path.dirname(fromFile), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) {
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The graph of every .ts file under `srcDir`. */
export function importGraph(srcDir: string): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of sourceFiles(srcDir)) {
    const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((s) => s.startsWith('.'))
      .map((s) => resolveImport(file, s))
      .filter((t): t is string => t !== undefined)
      .map((t) => path.relative(srcDir, t));
    graph.set(path.relative(srcDir, file), [...new Set(targets)].sort());
  }
  return graph;
}

/** The cycles of the graph: each strongly connected component of more than one file (Tarjan). */
export function importCycles(graph: ImportGraph): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    indexOf.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
      }
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) {
    if (!indexOf.has(v)) visit(v);
  }
  return cycles;
}

/** The folder a file of src/ belongs to ('' at the root). */
export function folderOf(file: string): string {
  const parts = file.split(path.sep);
  return parts.length > 1 ? parts[0] : '';
}
