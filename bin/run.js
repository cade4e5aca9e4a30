#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { execute } from '@oclif/core';

// userPlugins: false — oclif would otherwise read $RECO_DATA_DIR/package.json (its own "data dir" convention
// collides with ours) looking for user-installed plugins; reco has none.
await execute({ dir: import.meta.url, loadOptions: { root: fileURLToPath(new URL('..', import.meta.url)), userPlugins: false } });
