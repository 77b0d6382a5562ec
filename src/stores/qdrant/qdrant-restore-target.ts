/**
 * The Qdrant a restore writes into: which of the snapshot's names it already uses (collections, and
 * aliases that collide with a name the snapshot creates), whether that refuses the restore, and
 * deleting them when the restore replaces.
 */
import { AcxError } from '../../errors.ts';
import type { RestoreContext } from '../snapshot-driver.ts';
import type { QdrantAlias, QdrantClient } from './qdrant-client.ts';
import type { SnapshotCollection } from './qdrant-restore.ts';

export interface TargetState {
  /** Collections of the snapshot the target already has, with their point counts. */
  existing: { name: string; points: number }[];
  /** Aliases of the target that a name of the snapshot collides with (deleted under replace). */
  aliases: QdrantAlias[];
  /** Alias names of the snapshot that are collections of the target (never replaced). */
  blocked: string[];
  /** Collections of the target the snapshot does not touch. */
  untouched: string[];
}

export async function inspectTarget(
  client: QdrantClient,
  collections: SnapshotCollection[],
): Promise<TargetState> {
  const present = await client.listCollections();
  const aliases = await client.listAliases();
  const ours = new Set(collections.map((c) => c.name));
  const existing: TargetState['existing'] = [];
  for (const name of present.filter((n) => ours.has(n)))
    existing.push({ name, points: await client.count(name) });
  const created = new Set([...ours, ...collections.flatMap((c) => c.aliases)]);
  return {
    existing,
    // An alias on a collection that is itself replaced goes with it; any other colliding alias is listed.
    aliases: aliases.filter((a) => created.has(a.alias_name) && !ours.has(a.collection_name)),
    blocked: collections.flatMap((c) => c.aliases).filter((a) => present.includes(a) && !ours.has(a)),
    untouched: present.filter((n) => !ours.has(n)),
  };
}

export function refuse(state: TargetState, replace: boolean): void {
  if (state.blocked.length > 0) {
    throw new AcxError(
      'NOT_EMPTY',
      `Qdrant: the snapshot's alias ${state.blocked[0]} is the name of an existing collection the snapshot does not restore`,
      { subject: state.blocked[0], hint: 'delete or rename that collection first' },
    );
  }
  if (replace) return;
  // A collection without points is the application's empty schema, not data: replaced without --force.
  const first = state.existing.find((e) => e.points > 0);
  if (first) {
    const names = state.existing.map((e) => `${e.name} (${e.points} points)`).join(', ');
    throw new AcxError('NOT_EMPTY', `Qdrant already has the snapshot's collections: ${names}`, {
      subject: first.name,
      hint: 'restore with --force to replace them (a safety backup is taken first), or delete them',
    });
  }
  const alias = state.aliases[0];
  if (alias) {
    throw new AcxError(
      'NOT_EMPTY',
      `Qdrant already has the alias ${alias.alias_name} (on ${alias.collection_name}), which the snapshot creates`,
      { subject: alias.alias_name, hint: 'restore with --force to replace it, or delete the alias' },
    );
  }
}

/** What a restore of this section would do (`--dry-run`); refuses like the restore would. */
/** Under replace: deletes the aliases and collections of the target that the snapshot's names take. */
export async function deleteColliding(
  client: QdrantClient,
  ctx: RestoreContext,
  state: TargetState,
): Promise<void> {
  if (state.aliases.length > 0) {
    ctx.reporter.emit({
      type: 'phase',
      store: 'qdrant',
      message: `deleting aliases ${state.aliases.map((a) => a.alias_name).join(', ')}`,
    });
    await client.updateAliases(
      state.aliases.map((a) => ({ delete_alias: { alias_name: a.alias_name } })),
      state.aliases[0]!.alias_name,
    );
  }
  for (const e of state.existing) {
    ctx.reporter.emit({ type: 'phase', store: 'qdrant', message: `deleting collection ${e.name}` });
    await client.deleteCollection(e.name);
  }
}
