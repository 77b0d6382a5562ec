/** Text summaries of `acx-data key …`. They name keys by id and never show a secret. */
import type { KeyAdded, KeyList, KeyRemoved } from '../../operations/keys.ts';
import { formatTable } from './format.ts';

const KDF_NAMES: Record<string, string> = { scrypt: 'password', 'hkdf-sha256': 'key file' };

export function formatKeyList({ location, keys, openedWith }: KeyList): string {
  const rows: Array<Array<string | number>> = [['id', 'created (UTC)', 'kind', 'kdf', 'opened']];
  for (const k of keys)
    rows.push([
      k.id,
      k.createdAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, ''),
      KDF_NAMES[k.kdf] ?? 'damaged',
      k.kdf,
      k.opened ? 'yes (this run)' : '',
    ]);
  const lines = [`Keys of ${location}:`, '', formatTable(rows)];
  for (const k of keys) if (k.damaged) lines.push(`damaged: ${k.id}: ${k.damaged}`);
  if (openedWith === undefined)
    lines.push(
      '',
      '(no key given: set ACX_REPOSITORY_PASSWORD, …_PASSWORD_FILE or …_KEY_FILE to see which one opens)',
    );
  return lines.join('\n');
}

export function formatKeyAdded({ location, id, kdf }: KeyAdded): string {
  return `Added key ${id} (${KDF_NAMES[kdf] ?? kdf}) to ${location}.`;
}

export function formatKeyRemoved({ location, removed }: KeyRemoved): string {
  return `Removed key ${removed} from ${location}: its secret no longer opens the repository.`;
}

export interface KeyGenerated {
  file: string;
  bytes: number;
}

export function formatKeyGenerated({ file, bytes }: KeyGenerated): string {
  return [
    `Wrote a new key file ${file} (${bytes} random bytes, mode 0600).`,
    `Keep a copy in a safe place; add it to a repository with: ACX_NEW_REPOSITORY_KEY_FILE=${file} acx-data key add`,
  ].join('\n');
}
