#!/usr/bin/env -S node --import tsx
// Runs the TypeScript sources directly (no build): ./bin/dev.js <command>
import { fileURLToPath } from 'node:url';
import { execute } from '@oclif/core';

await execute({ development: true, dir: import.meta.url, loadOptions: { root: fileURLToPath(new URL('..', import.meta.url)), userPlugins: false } });
