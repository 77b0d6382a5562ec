/** `--pre-hook` / `--post-hook`: operator commands that fence writers around a backup. */
import { spawn } from 'node:child_process';
import { AcxError } from '../errors.ts';

/** Runs `sh -c command`; its output goes to the caller's stderr. Fails with the command's exit code. */
export function runHook(
  name: 'pre-hook' | 'post-hook',
  command: string,
  env: Record<string, string>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], {
      stdio: ['ignore', process.stderr, process.stderr],
      env: { ...process.env, ...env },
    });
    child.on('error', (cause) =>
      reject(new AcxError('HOOK', `${name} could not start: ${cause.message}`, { subject: name, cause })),
    );
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new AcxError('HOOK', `${name} "${command}" failed (${signal ?? `exit ${code}`})`, {
            subject: name,
          }),
        );
    });
  });
}
