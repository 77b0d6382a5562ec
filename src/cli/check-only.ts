/**
 * Check-only programs: a program built for checking a command line (`acx-data schedule --check`) parses
 * it and runs each command's own flag checks, then stops before the handler would run: nothing is opened,
 * written or printed. Used to prove that every line a schedule runs is a valid invocation.
 */
import type { Command } from 'commander';

const checkOnlyPrograms = new WeakSet<Command>();

/** Marks `program` (the root) as check-only. */
export function markCheckOnly(program: Command): Command {
  checkOnlyPrograms.add(program);
  return program;
}

/** Whether the program `command` belongs to is check-only: its actions return after their checks. */
export function isCheckOnly(command: Command): boolean {
  let root = command;
  while (root.parent) root = root.parent;
  return checkOnlyPrograms.has(root);
}
