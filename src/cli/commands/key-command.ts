/**
 * `acx-data key list|add|remove|generate`: the passwords and key files of an encrypted repository
 * (docs/design.md §11.6). Secrets come only from the environment, never from flags: the current key
 * from ACX_REPOSITORY_PASSWORD, …_PASSWORD_FILE or ACX_REPOSITORY_KEY_FILE, a key being added from the
 * same names with ACX_NEW_. Declares the subcommands; the work is src/cli/handlers/key-handler.ts,
 * loaded only when one runs.
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { globalOptions, type GlobalOptions } from '../output/global-options.ts';
import { isCheckOnly } from '../check-only.ts';

export const KEY_ACTIONS = ['list', 'add', 'remove', 'generate'] as const;
export type KeyAction = (typeof KEY_ACTIONS)[number];

/** One run of `acx-data key <action>`. */
export interface KeyRun {
  action: KeyAction;
  global: GlobalOptions;
  /** `--backup-dir`, absolute (list, add, remove). */
  backupDir: string;
  /** `remove ID`. */
  id?: string;
  /** `generate FILE`. */
  file?: string;
}

const SECRETS_HELP = `
Secrets are never given on the command line:
  ACX_REPOSITORY_PASSWORD, ACX_REPOSITORY_PASSWORD_FILE or ACX_REPOSITORY_KEY_FILE
                                   a key that opens the repository now
  ACX_NEW_REPOSITORY_PASSWORD, ACX_NEW_REPOSITORY_PASSWORD_FILE or ACX_NEW_REPOSITORY_KEY_FILE
                                   the key that key add adds

Examples:
  acx-data key list
  ACX_REPOSITORY_PASSWORD_FILE=old.txt ACX_NEW_REPOSITORY_PASSWORD_FILE=new.txt acx-data key add
  ACX_REPOSITORY_PASSWORD_FILE=new.txt acx-data key remove <id of the old key>
  acx-data key generate ~/acx-repository.key
  ACX_REPOSITORY_PASSWORD_FILE=new.txt ACX_NEW_REPOSITORY_KEY_FILE=~/acx-repository.key acx-data key add`;

const BACKUP_DIR = join('data', 'backups');

async function run(action: KeyAction, command: Command, rest: Partial<KeyRun> = {}): Promise<void> {
  const flags = command.opts<{ backupDir?: string }>();
  if (isCheckOnly(command)) return;
  const { handleKey } = await import('../handlers/key-handler.ts');
  await handleKey({
    action,
    global: globalOptions(command),
    backupDir: resolve(flags.backupDir ?? BACKUP_DIR),
    ...rest,
  });
}

export function registerKeyCommand(program: Command): void {
  const key = program
    .command('key')
    .description('list, add and remove the passwords and key files of an encrypted repository')
    .addHelpText('after', SECRETS_HELP);
  key
    .command('list')
    .description('list the keys (id, creation time, kind) and mark the one the given secret opens')
    .option('--backup-dir <dir>', 'the repository', BACKUP_DIR)
    .action(async (_flags: unknown, command: Command) => run('list', command));
  key
    .command('add')
    .description('add the key given in ACX_NEW_REPOSITORY_* (the repository opened with ACX_REPOSITORY_*)')
    .option('--backup-dir <dir>', 'the repository', BACKUP_DIR)
    .action(async (_flags: unknown, command: Command) => run('add', command));
  key
    .command('remove')
    .description('remove a key by id (never the last one, nor the one this run opened the repository with)')
    .argument('<id>', 'the key id, as key list shows it')
    .option('--backup-dir <dir>', 'the repository', BACKUP_DIR)
    .action(async (id: string, _flags: unknown, command: Command) => run('remove', command, { id }));
  key
    .command('generate')
    .description('write a new key file (32 random bytes, mode 0600) for ACX_[NEW_]REPOSITORY_KEY_FILE')
    .argument('<file>', 'the file to create (never overwritten)')
    .action(async (file: string, _flags: unknown, command: Command) => run('generate', command, { file }));
}
