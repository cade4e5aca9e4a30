# syntax=docker/dockerfile:1
# The reco image: one CLI for the API (`reco serve`, the default) and the jobs (`reco ingest`, `reco train`,
# `reco backup-db --keep 7`, `reco db migrate`). Build: docker build -t reco:0.1.0 .   (setup.sh does it)

# --- build: all dependencies (TypeScript is a devDependency) and the compiled dist/ ---
FROM node:20-bookworm-slim AS build
# A compiler for argon2's native addon (below); this stage is thrown away.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: `prepare` would build before the sources are here.
RUN npm ci --ignore-scripts --no-audit --no-fund
# argon2 0.45's bundled prebuilt linux-x64 binary crashes Node 20 on load (segfault in napi_module_register,
# seen on Debian 12 with Node 20.20): compile it against this Node's headers instead (seconds), with the
# node-gyp that npm ships and the headers of the image's Node (no download). npm has no build-from-source
# option of its own: passed to npm, it warns "Unknown cli config" (or "Unknown env config").
RUN cd node_modules/argon2 \
 && node "$(npm prefix -g)/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js" rebuild --nodedir="$(npm prefix -g)"
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
RUN npm run build

# --- runtime: production dependencies only, no compiler, no sources ---
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    RECO_DATA_DIR=/data \
    RECO_MODELS_DIR=/data/models \
    HOME=/tmp
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts skips `prepare` (tsc is not installed here) and argon2's install (its addon comes next).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# oclif's list of commands, written by the build: without it every command imports all the others at start.
COPY --from=build /app/oclif.manifest.json ./
# The one native file the runtime needs; node-gyp-build prefers build/Release over the bundled prebuilds.
COPY --from=build /app/node_modules/argon2/build/Release/argon2.node ./node_modules/argon2/build/Release/argon2.node
COPY bin ./bin
COPY data/initial_data ./data/initial_data
# Files stay root-owned (the app cannot rewrite itself); /data is the only place the node user writes.
RUN chmod 0755 bin/run.js \
 && ln -s /app/bin/run.js /usr/local/bin/reco \
 && node -e "import('argon2').then((a) => a.hash('smoke-test'))" \
 && reco --version \
 && mkdir -p /data/models \
 && chown -R node:node /data
# Numeric, so that Kubernetes can verify runAsNonRoot without a user database.
USER 1000:1000
VOLUME ["/data"]
EXPOSE 8000 9464
# node, not curl: the slim image has no curl. Kubernetes ignores this and uses the probes in k8s/api/.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "require('http').get('http://127.0.0.1:8000/healthz', (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"]
ENTRYPOINT ["reco"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--metrics-port", "9464"]
