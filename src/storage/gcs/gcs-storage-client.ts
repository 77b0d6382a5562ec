/**
 * The @google-cloud/storage client the GCS driver uses, built from an environment (CloudSettings.env)
 * rather than from process.env alone. Loaded lazily: only a gs:// location pays for the SDK.
 */
import type { Storage as GcsClient, StorageOptions } from '@google-cloud/storage';

/** Until a response starts (the SDK's request timeout), and between chunks of a transfer (the watchdog). */
export const REQUEST_TIMEOUT_MS = 60_000;

/**
 * A client for the endpoint and credentials `env` names: STORAGE_EMULATOR_HOST (no credentials), else
 * GOOGLE_APPLICATION_CREDENTIALS, else the application default credentials. GOOGLE_CLOUD_PROJECT, when
 * set, is the project (only needed by calls this driver does not make).
 */
export async function createGcsClient(env: NodeJS.ProcessEnv): Promise<GcsClient> {
  const { Storage: Client, IdempotencyStrategy } = await import('@google-cloud/storage');
  const emulator = env.STORAGE_EMULATOR_HOST;
  const options: StorageOptions = {
    projectId: env.GOOGLE_CLOUD_PROJECT ?? (emulator ? 'acx-emulator' : undefined),
    timeout: REQUEST_TIMEOUT_MS,
    retryOptions: {
      autoRetry: true,
      maxRetries: 3,
      // Every request this driver sends may be sent again: reads, deletes (a 404 is success), and puts,
      // which replace the object with the same bytes (the SDK resends a resumable chunk from its copy).
      // A create with ifNotExists carries ifGenerationMatch: 0, so a repeat cannot overwrite.
      // RetryConditional would resend no unconditional upload, failing a long backup on one dropped chunk.
      idempotencyStrategy: IdempotencyStrategy.RetryAlways,
    },
  };
  if (emulator) options.apiEndpoint = /^https?:\/\//.test(emulator) ? emulator : `http://${emulator}`;
  else if (env.GOOGLE_APPLICATION_CREDENTIALS) options.keyFilename = env.GOOGLE_APPLICATION_CREDENTIALS;
  return withoutEmulatorVariable(() => new Client(options));
}

/** The client constructor alone reads process.env.STORAGE_EMULATOR_HOST (synchronously). */
function withoutEmulatorVariable<T>(make: () => T): T {
  const saved = process.env.STORAGE_EMULATOR_HOST;
  delete process.env.STORAGE_EMULATOR_HOST;
  try {
    return make();
  } finally {
    if (saved !== undefined) process.env.STORAGE_EMULATOR_HOST = saved;
  }
}
