import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';

describe('acx-data seed (end to end)', () => {
  it('seeds with --force and prints a JSON summary whose stores agree', async () => {
    const result = await runCli(['seed', '--scale', '0.02', '--seed', '5', '--force', '--format', 'json']);
    expect(result.stderr).not.toMatch(/INTERNAL/);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as {
      inventory: { agreement: Array<{ agrees: boolean }>; postgres: Record<string, number> };
    };
    expect(summary.inventory.postgres.dtc_codes).toBe(140);
    expect(summary.inventory.agreement.every((a) => a.agrees)).toBe(true);
  });

  it('refuses to seed non-empty stores without --force (exit 7)', async () => {
    const result = await runCli(['seed', '--scale', '0.02', '--seed', '6']);
    expect(result.code).toBe(7);
    expect(result.stderr).toMatch(/NOT_EMPTY/);
    expect(result.stderr).toMatch(/--force/);
  });

  it('prints a readable summary table in text mode', async () => {
    const result = await runCli(['seed', '--scale', '0.02', '--seed', '5', '--force']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/dtc_codes\s+140/);
    expect(result.stdout).toMatch(/DTC codes\s+140\s+140\s+140\s+agree/);
  });
});

describe('connection failures', () => {
  it('names Neo4j when its password is wrong, without printing the password', async () => {
    const result = await runCli(['seed', '--scale', '0.02', '--force'], {
      ...process.env,
      NEO4J_PASSWORD: 'wrong-pass-123',
    });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/CONNECTION \[neo4j\]/);
    expect(result.stderr).not.toContain('wrong-pass-123');
  });
});
