/** The flag choices the CLI declares without loading their owners are the owners' lists, in order. */
import { describe, expect, it } from 'vitest';
import { BACKUP_TARGETS } from '../../src/operations/backup.ts';
import { COMPRESSIONS } from '../../src/repository/compression.ts';
import { BACKUP_TARGET_CHOICES, COMPRESSION_CHOICES } from '../../src/cli/choices.ts';

describe('CLI choices', () => {
  it('--target offers every backup target', () => {
    expect(BACKUP_TARGET_CHOICES).toEqual(BACKUP_TARGETS);
  });

  it('--compression offers every compression', () => {
    expect(COMPRESSION_CHOICES).toEqual(COMPRESSIONS);
  });
});
