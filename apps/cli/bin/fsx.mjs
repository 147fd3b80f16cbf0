#!/usr/bin/env node
// The fsx command line. Runs the TypeScript sources through tsx, like every fsx process.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
