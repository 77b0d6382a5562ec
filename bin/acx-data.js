#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader (see docs/decisions/0001-typescript-without-a-build-step.md).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
