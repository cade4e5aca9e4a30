#!/usr/bin/env -S node --import tsx
// Runs the TypeScript sources directly (no build): ./bin/dev.js <command>
import { fileURLToPath } from 'node:url';
import { Config, Plugin, execute, settings } from '@oclif/core';

// What execute({ development: true }) sets, needed before the root plugin below looks for its commands (src/, not dist/).
process.env.NODE_ENV = 'development';
settings.debug = true;

// The build writes oclif.manifest.json next to package.json for bin/run.js. oclif would use it in development too,
// and a manifest entry names its module in dist/: the sources would silently run as the last build (stale, or
// missing a command added since). So the root plugin here ignores the manifest and finds the commands in src/.
const root = fileURLToPath(new URL('..', import.meta.url));
const rootPlugin = new Plugin({ root, isRoot: true, ignoreManifest: true });
await rootPlugin.load();
// userPlugins: false — oclif would otherwise read $RECO_DATA_DIR/package.json (its own "data dir" convention
// collides with ours) looking for user-installed plugins; reco has none.
const config = new Config({ root, userPlugins: false, plugins: new Map([[rootPlugin.name, rootPlugin]]) });
await config.load();
await config.loadPluginsAndCommands({ force: true }); // the core plugins of package.json (help, version, autocomplete) besides the given root

await execute({ development: true, dir: import.meta.url, loadOptions: config });
