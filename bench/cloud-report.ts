/** The figures of `bench/cloud.ts` and their Markdown report (kept apart so a report re-renders from JSON). */
import { markdownTable, mib, secs, type MachineNotes } from './lib.ts';

export type Tool = 'acx' | 'sdk' | 'cli' | 'acx-again' | 'acx-download';

export interface Step {
  tool: Tool;
  round: number;
  seconds: number;
  /** User + system seconds of the command (and its waited-for children). */
  cpuSeconds: number;
  /** CPU seconds the S3 server spent meanwhile. */
  serverCpuSeconds: number;
  /** CPU the rest of the machine used meanwhile, in cores (busy − command − server, over the wall time). */
  otherCores: number;
  maxRssKiB: number;
  loadAverage: string;
}

export interface Results {
  machine: MachineNotes;
  awsCli: string | null;
  sizeMiB: number;
  files: number;
  dataBytes: number;
  snapshot: { id: string; packs: number; packBytes: number; backupSeconds: number; backupMaxRssKiB: number };
  /** `acx-data --version`: the CLI's start-up alone. */
  startupSeconds: number;
  rounds: number;
  steps: Step[];
  profile?: ProfileSummary;
}

/** Self time of one more (a) under `node --cpu-prof` (main thread), by function and by module. */
export interface ProfileSummary {
  wallSeconds: number;
  sampledMs: number;
  functions: { name: string; ms: number }[];
  modules: { name: string; ms: number }[];
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** The module a frame belongs to: a package, a file of ours, node's internals or V8's pseudo-frames. */
function moduleOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return url;
  const ours = /\/(src|bench|bin)\/(.*)$/.exec(url);
  return ours ? `${ours[1]}/${ours[2]}` : url;
}

/** Sums a .cpuprofile's samples by function and by module, the top `top` of each. */
export function summariseProfile(json: string, wallSeconds: number, top = 12): ProfileSummary {
  const profile = JSON.parse(json) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const functions = new Map<string, number>();
  const modules = new Map<string, number>();
  let sampled = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const frame = byId.get(id);
    if (!frame) return;
    sampled += ms;
    const module = moduleOf(frame.url, frame.functionName);
    // Lines of our own files: left out (the profile names the function and file).
    const transformed = /^(src|bench|bin)\//.test(module);
    const line = transformed ? '' : `:${frame.lineNumber + 1}`;
    const name = frame.url ? `${frame.functionName || '(anonymous)'} ${module}${line}` : module;
    functions.set(name, (functions.get(name) ?? 0) + ms);
    modules.set(module, (modules.get(module) ?? 0) + ms);
  });
  const ranked = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms }));
  return { wallSeconds, sampledMs: sampled, functions: ranked(functions), modules: ranked(modules) };
}

function profileSection(p: ProfileSummary): string[] {
  const share = (ms: number) => `${((100 * ms) / p.sampledMs).toFixed(1)} %`;
  return [
    '## Where (a) spends its time',
    '',
    `One more (a) into a new bucket under \`node --cpu-prof\` (main thread; ${secs(p.wallSeconds)} s wall, ` +
      `${(p.sampledMs / 1000).toFixed(1)} s sampled, "(idle)" is waiting on I/O). Self time by module, then by function:`,
    '',
    markdownTable(
      ['module', 'self ms', 'share'],
      p.modules.map((m) => [m.name, m.ms.toFixed(0), share(m.ms)]),
    ),
    '',
    markdownTable(
      ['function', 'self ms', 'share'],
      p.functions.map((f) => [`\`${f.name}\``, f.ms.toFixed(0), share(f.ms)]),
    ),
    '',
  ];
}

const LABELS: Record<Tool, string> = {
  acx: '(a) `acx-data backup --upload-s3 B --snapshot ID`',
  sdk: '(b) lib-storage `Upload` alone (bench/cloud-sdk-upload.ts)',
  cli: '(c) `aws s3 cp --recursive`',
  'acx-again': '(d) (a) again, same bucket (sends nothing)',
  'acx-download': '(e) `acx-data backup --download ID --from s3://B/backups`',
};

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const fixed = (value: number | undefined, digits = 2): string =>
  value === undefined ? '–' : value.toFixed(digits);

/** Per-round ratios of `tool` to the SDK peer: median (min–max). */
function ratioToSdk(results: Results, tool: Tool): string {
  if (tool === 'acx-again' || tool === 'acx-download') return '–';
  const ratios: number[] = [];
  for (let r = 1; r <= results.rounds; r++) {
    const a = results.steps.find((s) => s.tool === tool && s.round === r);
    const b = results.steps.find((s) => s.tool === 'sdk' && s.round === r);
    if (a && b && b.seconds > 0) ratios.push(a.seconds / b.seconds);
  }
  if (ratios.length === 0) return '–';
  return `${fixed(median(ratios))} (${fixed(Math.min(...ratios))}–${fixed(Math.max(...ratios))})`;
}

function summaryRow(results: Results, tool: Tool): string[] | undefined {
  const steps = results.steps.filter((s) => s.tool === tool);
  if (steps.length === 0) return undefined;
  const seconds = steps.map((s) => s.seconds);
  const mid = median(seconds)!;
  const moves = tool !== 'acx-again';
  return [
    LABELS[tool],
    String(steps.length),
    secs(mid),
    secs(Math.min(...seconds)),
    secs(Math.max(...seconds)),
    moves ? fixed(results.snapshot.packBytes / 1e6 / mid, 1) : '–',
    ratioToSdk(results, tool),
    fixed(median(steps.map((s) => s.cpuSeconds)), 1),
    fixed(median(steps.map((s) => s.serverCpuSeconds)), 1),
    fixed(median(steps.map((s) => s.otherCores)), 2),
    mib(Math.max(...steps.map((s) => s.maxRssKiB))),
  ];
}

export function render(results: Results): string {
  const m = results.machine;
  const tools: Tool[] = ['acx', 'sdk', 'cli', 'acx-again', 'acx-download'];
  const summary = markdownTable(
    [
      'operation',
      'rounds',
      'median s',
      'min s',
      'max s',
      'MB/s (median)',
      '÷ SDK Upload, per round: median (min–max)',
      'CPU s (median)',
      'server CPU s (median)',
      'other processes, cores (median)',
      'peak RSS MiB (max)',
    ],
    tools.flatMap((t) => {
      const row = summaryRow(results, t);
      return row ? [row] : [];
    }),
  );
  const perRound = markdownTable(
    [
      'round',
      'operation',
      'wall s',
      'CPU s',
      'server CPU s',
      'other cores',
      'peak RSS MiB',
      'load average before',
    ],
    results.steps.map((s) => [
      String(s.round),
      s.tool,
      secs(s.seconds),
      fixed(s.cpuSeconds, 1),
      fixed(s.serverCpuSeconds, 1),
      fixed(s.otherCores, 2),
      mib(s.maxRssKiB),
      s.loadAverage,
    ]),
  );
  const snap = results.snapshot;
  return [
    `# Upload to S3: acx-data vs the SDK's Upload alone — ${m.date.slice(0, 10)}`,
    '',
    `- Date: ${m.date}. Machine: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGiB} GiB RAM, Node ${m.node}; ` +
      `load average at start ${m.loadAverageAtStart}, at end ${m.loadAverageAtEnd ?? '–'}. The cores are shared ` +
      'with other work (the "other processes" column is the CPU the rest of the machine used during each ' +
      'command, in cores of the 2): absolute timings are noisy, the per-round ratios are the figures to compare.',
    '- Server: versitygw (posix backend, `~/.cache/acx-data/bin/versitygw`) on 127.0.0.1, started by the ' +
      'benchmark, its data on the same disk as the snapshot; HTTP, no TLS. Its CPU is counted apart ("server CPU").',
    `- Snapshot: \`${snap.id}\`, format 2, made by \`acx-data backup --json\` from ${results.files} files of ` +
      `random bytes (${(results.dataBytes / 2 ** 20).toFixed(0)} MiB, named \`*.json\`; the JSON target streams ` +
      `a file's bytes without parsing them), no database: ${snap.packs} packs, ${(snap.packBytes / 1e6).toFixed(0)} MB ` +
      `(${(snap.packBytes / 2 ** 20).toFixed(0)} MiB); the backup took ${secs(snap.backupSeconds)} s, ` +
      `peak RSS ${mib(snap.backupMaxRssKiB)} MiB (not part of the comparison).`,
    `- (a) sends the packs plus config.json, keys, one index file and the manifest (a few hundred KB), under ` +
      "the bucket lock, checking every pack's SHA-256 against its name before it leaves. (b) and (c) send the " +
      'pack files only. (b): parts of 8 MiB, 4 in flight per file, 4 files at once (copySnapshot puts 4 packs ' +
      'at once, each through the same Upload settings). ' +
      (results.awsCli
        ? `(c): ${results.awsCli}, its defaults (8 MB parts, 10 requests at once).`
        : '(c) skipped: the `aws` CLI is not installed.'),
    `- Every command is a new process under \`/usr/bin/time -v\` (start-up included: \`acx-data --version\` ` +
      `alone takes ${secs(results.startupSeconds)} s); the order of (a), (b), (c) reverses every round; each ` +
      "upload goes into a new bucket, and its objects are listed afterwards and checked against the snapshot's " +
      'packs (count and bytes). MB/s = pack bytes (10^6) ÷ median seconds.',
    '',
    summary,
    '',
    '## Every round',
    '',
    perRound,
    '',
    ...(results.profile ? profileSection(results.profile) : []),
  ].join('\n');
}
