// Points the tests at the local stack (npm run stack:up) unless the environment already names stores,
// e.g. QDRANT_URL of a real Qdrant.
import { stackEnv } from '../../scripts/stack/stack.ts';

for (const [name, value] of Object.entries(stackEnv())) {
  if (process.env[name] === undefined || process.env[name] === '') process.env[name] = value;
}
