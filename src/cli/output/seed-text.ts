/** The text summary of `acx-data seed`. */
import type { SeedSummary } from '../../operations/seed.ts';

export function formatSeed(summary: SeedSummary): string {
  const lines = [
    `Seeded scale ${summary.scale} with seed ${summary.seed}.`,
    '',
    'PostgreSQL rows per table:',
  ];
  for (const [table, n] of Object.entries(summary.inventory.postgres))
    lines.push(`  ${table.padEnd(24)} ${n}`);
  lines.push('', 'Neo4j nodes per label:');
  for (const [label, n] of Object.entries(summary.inventory.neo4j.labels))
    lines.push(`  ${label.padEnd(24)} ${n}`);
  lines.push('', 'Neo4j relationships per type:');
  for (const [type, n] of Object.entries(summary.inventory.neo4j.types))
    lines.push(`  ${type.padEnd(24)} ${n}`);
  lines.push('', 'Qdrant points per collection:');
  for (const [name, n] of Object.entries(summary.inventory.qdrant.collections))
    lines.push(`  ${name.padEnd(24)} ${n}`);
  for (const [type, n] of Object.entries(summary.inventory.qdrant.types))
    lines.push(`    type=${type.padEnd(19)} ${n}`);
  lines.push('', 'Across stores:            postgres    neo4j   qdrant');
  for (const a of summary.inventory.agreement) {
    const cell = (n: number | undefined) => (n === undefined ? '-' : String(n)).padStart(8);
    lines.push(
      `  ${a.entity.padEnd(22)} ${cell(a.postgres)} ${cell(a.neo4j)} ${cell(a.qdrant)}   ${a.agrees ? 'agree' : 'DISAGREE'}`,
    );
  }
  const s = summary.seconds;
  lines.push(
    '',
    `Time: postgres ${s.postgres.toFixed(1)} s, neo4j ${s.neo4j.toFixed(1)} s, qdrant ${s.qdrant.toFixed(1)} s (in parallel)`,
  );
  return lines.join('\n');
}
