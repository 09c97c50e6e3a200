/**
 * The report's plots, as SVG, drawn by Vega-Lite (compiled to Vega, rendered headless with no
 * browser and no canvas). vega and vega-lite are ESM-only with top-level await: they are
 * loaded with a real dynamic `import()`, which TypeScript's CommonJS output would otherwise
 * turn into `require()`.
 */

// eslint-disable-next-line @typescript-eslint/no-implied-eval
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<any>;

let libs: Promise<{ vega: any; vl: any }> | undefined;

function load(): Promise<{ vega: any; vl: any }> {
  libs ??= Promise.all([importEsm('vega'), importEsm('vega-lite')]).then(([vega, vl]) => ({ vega, vl }));
  return libs;
}

/** Renders a Vega-Lite spec to SVG text. */
export async function renderSvg(spec: object): Promise<string> {
  const { vega, vl } = await load();
  const compiled = vl.compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: {
      font: 'Helvetica, Arial, sans-serif',
      view: { stroke: '#ddd' },
      axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
      legend: { labelFontSize: 11, titleFontSize: 11, orient: 'bottom', labelLimit: 400 },
      title: { fontSize: 14, anchor: 'start' },
      background: 'white',
    },
    ...spec,
  }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg: string = await view.toSVG();
  view.finalize();
  return svg;
}

/** A point with a median and its spread. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Lines of medians with min-max error bars, log-log, one line per series. */
export function lineSpec(options: {
  title: string;
  x: string;
  y: string;
  rows: Array<{ series: string; x: number } & Spread>;
  logY?: boolean;
  reference?: Array<{ series: string; x: number; y: number }>;
}): object {
  const layers: object[] = [
    {
      mark: { type: 'line', point: { filled: true, size: 50 } },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: options.x, scale: { type: 'log' }, axis: { values: [...new Set(options.rows.map((r) => r.x))] } },
        y: { field: 'median', type: 'quantitative', title: options.y, scale: { type: options.logY === false ? 'linear' : 'log' } },
        color: { field: 'series', type: 'nominal', title: null },
        tooltip: [{ field: 'series' }, { field: 'x' }, { field: 'median' }],
      },
    },
    {
      mark: { type: 'rule', strokeWidth: 1.5 },
      encoding: {
        x: { field: 'x', type: 'quantitative' },
        y: { field: 'min', type: 'quantitative' },
        y2: { field: 'max' },
        color: { field: 'series', type: 'nominal' },
      },
    },
  ];
  const data = options.rows.map((r) => ({ ...r }));
  if (options.reference) {
    layers.push({
      data: { values: options.reference },
      mark: { type: 'line', strokeDash: [4, 4], strokeWidth: 1 },
      encoding: {
        x: { field: 'x', type: 'quantitative' },
        y: { field: 'y', type: 'quantitative' },
        color: { field: 'series', type: 'nominal' },
      },
    });
  }
  return { title: options.title, width: 520, height: 300, data: { values: data }, layer: layers };
}

/** Horizontal bars of medians with min-max error bars, grouped by a prefix of the label. */
export function barSpec(options: {
  title: string;
  x: string;
  rows: Array<{ group: string; bar: string; label?: string } & Spread>;
  logX?: boolean;
}): object {
  const values = options.rows.map((r) => ({ ...r, name: `${r.group} · ${r.bar}` }));
  const y = { field: 'name', type: 'nominal', title: null, sort: null, axis: { labelLimit: 600 } };
  return {
    title: options.title,
    width: 440,
    height: { step: 22 },
    data: { values },
    layer: [
      {
        mark: { type: 'bar', height: { band: 0.7 } },
        encoding: {
          y,
          x: { field: 'median', type: 'quantitative', title: options.x, scale: options.logX ? { type: 'log' } : {} },
          color: { field: 'group', type: 'nominal', title: null },
        },
      },
      {
        mark: { type: 'rule', color: 'black' },
        encoding: { y, x: { field: 'min', type: 'quantitative' }, x2: { field: 'max' } },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 10 },
        encoding: { y, x: { field: 'max', type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
  };
}

/** Measured ratio against its limit, per goal (a dot with its spread and the limit). */
export function goalsSpec(rows: Array<{ goal: string; met: boolean; limitShare: Spread }>): object {
  return {
    title: 'Goals: measured ratio / its limit (left of the dashed line: met)',
    width: 480,
    height: { step: 26 },
    data: { values: rows.map((r) => ({ goal: r.goal, status: r.met ? 'met' : 'missed', ...r.limitShare })) },
    layer: [
      {
        mark: { type: 'rule', strokeWidth: 2 },
        encoding: {
          y: { field: 'goal', type: 'nominal', sort: null, title: null, axis: { labelLimit: 600 } },
          x: { field: 'min', type: 'quantitative', scale: { type: 'log' }, title: 'measured / limit (log scale)' },
          x2: { field: 'max' },
          color: { field: 'status', type: 'nominal', scale: { domain: ['met', 'missed'], range: ['#2a9d3a', '#d62728'] }, title: null },
        },
      },
      {
        mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          y: { field: 'goal', type: 'nominal', sort: null },
          x: { field: 'median', type: 'quantitative' },
          color: { field: 'status', type: 'nominal' },
        },
      },
      {
        data: { values: [{ x: 1 }] },
        mark: { type: 'rule', strokeDash: [4, 3], color: '#333' },
        encoding: { x: { field: 'x', type: 'quantitative' } },
      },
    ],
  };
}

/** Storage over days: repository vs accumulated tarballs. */
export function daysSpec(rows: Array<{ day: number; series: string; bytes: number }>): object {
  return {
    title: 'Storage for daily versions: restic repository vs a new tar.gz every day',
    width: 520,
    height: 300,
    data: { values: rows.map((r) => ({ ...r, gib: r.bytes / 2 ** 30 })) },
    mark: { type: 'line', point: { size: 20 } },
    encoding: {
      x: { field: 'day', type: 'quantitative', title: 'day (0 = first full backup)' },
      y: { field: 'gib', type: 'quantitative', title: 'stored (GiB)' },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
}
