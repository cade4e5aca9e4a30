#!/usr/bin/env bash
# reco on k3s, from a bare Ubuntu/Debian host (amd64 or arm64), run as root from the repository:
#
#   sudo ./setup.sh
#
# Installs k3s and helm at pinned versions (both downloads checked against the release's SHA-256 sums; no
# `curl | sh`), kube-prometheus-stack at a pinned chart version, builds the reco
# image (docker, nerdctl or buildah, whichever exists; buildah is installed if none does) and imports it into
# k3s, creates the Secrets (random; re-used when they exist), applies k8s/, waits for the rollouts, on the
# first install loads the bundled MovieLens sample and trains a first model (k8s/seed), and prints how to
# reach the API and Grafana. Idempotent: run it again after a `git pull` to rebuild and roll out.
# Operator guide: docs/deploy.md.
set -euo pipefail

# Pinned versions; override from the environment to upgrade deliberately.
K3S_VERSION="${K3S_VERSION:-v1.32.4+k3s1}"
HELM_VERSION="${HELM_VERSION:-v3.17.3}"
KUBE_PROMETHEUS_STACK_VERSION="${KUBE_PROMETHEUS_STACK_VERSION:-69.4.1}"
RECO_BUILDER="${RECO_BUILDER:-}" # docker | nerdctl | buildah; empty = the first one that works

NAMESPACE=reco
MONITORING_NAMESPACE=monitoring
RELEASE=kube-prometheus-stack
ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-10m}"

cd "$(dirname "$0")"
# The image tag is the package version; k8s/kustomization.yaml pins the same tag (a test checks both).
APP_VERSION="$(sed -n 's/^  "version": "\([^"]*\)",$/\1/p' package.json | head -n 1)"
IMAGE="reco:${APP_VERSION}"

usage() {
  cat <<EOF
Usage: sudo ./setup.sh [--print-image] [--help]

Deploys reco on this host's k3s (installing k3s, helm and kube-prometheus-stack when missing).
Safe to run again: Secrets are kept, the image is rebuilt and the API rolled out when it changed.

  --print-image  print the image this script builds (${IMAGE}) and exit
  --help         this text

Environment: K3S_VERSION (${K3S_VERSION}), HELM_VERSION (${HELM_VERSION}),
KUBE_PROMETHEUS_STACK_VERSION (${KUBE_PROMETHEUS_STACK_VERSION}), RECO_BUILDER (docker|nerdctl|buildah),
ROLLOUT_TIMEOUT (${ROLLOUT_TIMEOUT}), RECO_SKIP_SEED=1 (no sample data on the first install).
EOF
}

log() { printf '\n==> %s\n' "$*" >&2; }
die() {
  printf 'setup.sh: %s\n' "$*" >&2
  exit 1
}

case "${1:-}" in
  --help | -h)
    usage
    exit 0
    ;;
  --print-image)
    echo "${IMAGE}"
    exit 0
    ;;
  "") ;;
  *)
    usage >&2
    die "unknown option: $1"
    ;;
esac

preflight() {
  [ -n "${APP_VERSION}" ] || die "cannot read the version from package.json (run from the reco repository)"
  [ "$(id -u)" -eq 0 ] || die "run as root: sudo ./setup.sh (k3s, helm and the image import need it)"
  command -v apt-get >/dev/null || die "this script supports Ubuntu/Debian (apt-get); see docs/deploy.md for other hosts"
}

export KUBECONFIG=/etc/rancher/k3s/k3s.yaml
kubectl() { k3s kubectl "$@"; }

random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null; }
}

arch() {
  case "$(uname -m)" in
    x86_64) echo amd64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) die "unsupported architecture $(uname -m)" ;;
  esac
}

install_prerequisites() {
  local missing=()
  for tool in curl tar sha256sum; do command -v "${tool}" >/dev/null || missing+=("${tool}"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "Installing curl, tar, ca-certificates"
    apt_install curl tar ca-certificates coreutils
  fi
}

# Downloads url to dest and checks it against the line for `name` in the SHA-256 sums file at sums_url (the format
# of sha256sum: "<hash>  <name>"); dies on a mismatch or when the sums file has no line for it.
download_verified() {
  local url="$1" sums_url="$2" name="$3" dest="$4" tmp expected actual
  tmp="$(mktemp -d)"
  curl -fsSLo "${tmp}/file" "${url}" || die "cannot download ${url}"
  curl -fsSLo "${tmp}/sums" "${sums_url}" || die "cannot download ${sums_url}"
  expected="$(awk -v n="${name}" '$2 == n || $2 == "*" n { print $1; exit }' "${tmp}/sums")"
  [ -n "${expected}" ] || die "no checksum for ${name} in ${sums_url}"
  actual="$(sha256sum "${tmp}/file" | awk '{ print $1 }')"
  [ "${expected}" = "${actual}" ] || die "checksum mismatch for ${name} from ${url}"
  mv "${tmp}/file" "${dest}"
  rm -rf "${tmp}"
}

# The k3s binary of the pinned release, checked against the release's sha256sum file, and a systemd unit (what
# the get.k3s.io script would write), without running a downloaded script.
install_k3s() {
  if command -v k3s >/dev/null && k3s --version | grep -qF "${K3S_VERSION}"; then
    log "k3s ${K3S_VERSION} is installed"
  else
    log "Installing k3s ${K3S_VERSION}"
    local bin release
    bin=k3s
    [ "$(arch)" = arm64 ] && bin=k3s-arm64
    release="https://github.com/k3s-io/k3s/releases/download/${K3S_VERSION//+/%2B}"
    download_verified "${release}/${bin}" "${release}/sha256sum-$(arch).txt" "${bin}" /usr/local/bin/k3s.new
    chmod 0755 /usr/local/bin/k3s.new
    mv /usr/local/bin/k3s.new /usr/local/bin/k3s
    command -v kubectl >/dev/null || ln -s /usr/local/bin/k3s /usr/local/bin/kubectl
    cat >/etc/systemd/system/k3s.service <<'UNIT'
[Unit]
Description=Lightweight Kubernetes (k3s)
Documentation=https://k3s.io
Wants=network-online.target
After=network-online.target

[Service]
Type=notify
EnvironmentFile=-/etc/default/%N
KillMode=process
Delegate=yes
LimitNOFILE=1048576
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStartPre=-/sbin/modprobe br_netfilter
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/k3s server --write-kubeconfig-mode 0600

[Install]
WantedBy=multi-user.target
UNIT
    systemctl daemon-reload
    systemctl enable k3s >/dev/null
    systemctl restart k3s
  fi
  systemctl is-active --quiet k3s || systemctl start k3s
  log "Waiting for the node to be Ready"
  for _ in $(seq 1 90); do
    kubectl get nodes 2>/dev/null | grep -q ' Ready' && return 0
    sleep 2
  done
  die "k3s did not become Ready in 3 minutes (journalctl -u k3s)"
}

install_helm() {
  if command -v helm >/dev/null && [ "$(helm version --template '{{.Version}}' 2>/dev/null)" = "${HELM_VERSION}" ]; then
    log "helm ${HELM_VERSION} is installed"
    return 0
  fi
  log "Installing helm ${HELM_VERSION}"
  local tmp file
  tmp="$(mktemp -d)"
  file="helm-${HELM_VERSION}-linux-$(arch).tar.gz"
  download_verified "https://get.helm.sh/${file}" "https://get.helm.sh/${file}.sha256sum" "${file}" "${tmp}/${file}"
  tar -xzf "${tmp}/${file}" -C "${tmp}"
  install -m 0755 "${tmp}/linux-$(arch)/helm" /usr/local/bin/helm
  rm -rf "${tmp}"
}

# Creates a Secret from KEY=VALUE lines on stdin unless it exists: values are generated once and then kept
# (a new database password would lock the API out of the existing database). Nothing passes through argv.
ensure_secret() {
  local namespace="$1" name="$2" env_file
  if kubectl -n "${namespace}" get secret "${name}" >/dev/null 2>&1; then
    echo "Secret ${namespace}/${name} exists: kept"
    cat >/dev/null
    return 0
  fi
  env_file="$(umask 077 && mktemp)"
  cat >"${env_file}"
  kubectl -n "${namespace}" create secret generic "${name}" --from-env-file="${env_file}" >/dev/null
  rm -f "${env_file}"
  echo "Secret ${namespace}/${name} created"
}

ensure_namespace() {
  kubectl create namespace "$1" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
}

install_monitoring() {
  log "kube-prometheus-stack ${KUBE_PROMETHEUS_STACK_VERSION} (Prometheus, Grafana, Alertmanager)"
  ensure_namespace "${MONITORING_NAMESPACE}"
  ensure_secret "${MONITORING_NAMESPACE}" grafana-admin <<EOF
admin-user=admin
admin-password=$(random_hex 16)
EOF
  helm repo add prometheus-community https://prometheus-community.github.io/helm-charts --force-update >/dev/null
  helm repo update prometheus-community >/dev/null
  local values
  values="$(mktemp)"
  cat >"${values}" <<'EOF'
prometheus:
  prometheusSpec:
    # Pick up the ServiceMonitor and PrometheusRule of k8s/monitoring in any namespace, whatever their labels.
    serviceMonitorSelectorNilUsesHelmValues: false
    podMonitorSelectorNilUsesHelmValues: false
    ruleSelectorNilUsesHelmValues: false
    retention: 15d
grafana:
  admin:
    existingSecret: grafana-admin
    userKey: admin-user
    passwordKey: admin-password
  sidecar:
    dashboards:
      enabled: true
      label: grafana_dashboard
      labelValue: "1"
      searchNamespace: ALL
# k3s runs these inside one process and does not expose their metrics endpoints: scraping them only fires alerts.
kubeControllerManager:
  enabled: false
kubeScheduler:
  enabled: false
kubeProxy:
  enabled: false
kubeEtcd:
  enabled: false
EOF
  helm upgrade --install "${RELEASE}" prometheus-community/kube-prometheus-stack \
    --version "${KUBE_PROMETHEUS_STACK_VERSION}" --namespace "${MONITORING_NAMESPACE}" \
    --values "${values}" --wait --timeout "${ROLLOUT_TIMEOUT}"
  rm -f "${values}"
}

pick_builder() {
  if [ -n "${RECO_BUILDER}" ]; then
    command -v "${RECO_BUILDER}" >/dev/null || die "RECO_BUILDER=${RECO_BUILDER} is not installed"
    echo "${RECO_BUILDER}"
  elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    echo docker
  elif command -v nerdctl >/dev/null && command -v buildctl >/dev/null && nerdctl info >/dev/null 2>&1; then
    # nerdctl builds through BuildKit (buildctl + buildkitd); without it, fall through to buildah.
    echo nerdctl
  elif command -v buildah >/dev/null; then
    echo buildah
  else
    apt_install buildah fuse-overlayfs
    echo buildah
  fi
}

image_digest() {
  k3s ctr images ls "name==docker.io/library/${IMAGE}" 2>/dev/null | awk 'NR > 1 { print $3 }'
}

# Builds the image and imports it into k3s's containerd; prints "changed" when the imported image differs.
build_and_import() {
  local builder before after archive
  builder="$(pick_builder)"
  log "Building ${IMAGE} with ${builder} and importing it into k3s"
  before="$(image_digest)"
  archive="$(mktemp --suffix .tar)"
  case "${builder}" in
    docker | nerdctl)
      "${builder}" build -t "${IMAGE}" . >&2
      "${builder}" save -o "${archive}" "${IMAGE}"
      ;;
    buildah)
      buildah bud --layers -t "${IMAGE}" . >&2
      rm -f "${archive}" # buildah refuses to overwrite
      buildah push "${IMAGE}" "docker-archive:${archive}:docker.io/library/${IMAGE}" >&2
      ;;
    *) die "unknown builder ${builder} (docker, nerdctl or buildah)" ;;
  esac
  k3s ctr images import "${archive}" >&2
  rm -f "${archive}"
  after="$(image_digest)"
  [ -n "${after}" ] || die "the image docker.io/library/${IMAGE} is not in k3s after the import"
  if [ "${before}" != "${after}" ]; then echo changed; fi
}

create_app_secrets() {
  log "Secrets of namespace ${NAMESPACE}"
  ensure_namespace "${NAMESPACE}"
  local db_password app_password
  db_password="$(random_hex 24)" # hex: safe inside the URL without escaping
  app_password="$(random_hex 24)"
  # The owner (a superuser of the PostgreSQL image): PostgreSQL itself and the migrations only.
  ensure_secret "${NAMESPACE}" reco-postgres <<EOF
POSTGRES_USER=reco
POSTGRES_PASSWORD=${db_password}
POSTGRES_DB=reco
DATABASE_URL=postgres://reco:${db_password}@reco-postgres:5432/reco
EOF
  # The application's role (k8s/postgres/app-role.sql): the API and the jobs.
  ensure_secret "${NAMESPACE}" reco-db-app <<EOF
POSTGRES_APP_USER=reco_app
POSTGRES_APP_PASSWORD=${app_password}
DATABASE_URL=postgres://reco_app:${app_password}@reco-postgres:5432/reco
EOF
  ensure_secret "${NAMESPACE}" reco-api <<EOF
RECO_JWT_SECRET=$(random_hex 32)
RECO_ADMIN_TOKEN=$(random_hex 24)
EOF
}

secret_value() {
  kubectl -n "${NAMESPACE}" get secret "$1" -o "jsonpath={.data.$2}" | base64 -d
}

# Creates or updates the application's PostgreSQL role (k8s/postgres/app-role.sql) inside the PostgreSQL pod, as
# the owner over the local socket. The password goes through stdin (a psql \set), never through argv.
ensure_app_role() {
  log "PostgreSQL role of the application"
  local app_user app_password
  app_user="$(secret_value reco-db-app POSTGRES_APP_USER)"
  app_password="$(secret_value reco-db-app POSTGRES_APP_PASSWORD)"
  [[ "${app_user}" =~ ^[a-z_][a-z0-9_]*$ && "${app_password}" =~ ^[A-Za-z0-9]+$ ]] ||
    die "the Secret reco-db-app must hold POSTGRES_APP_USER (a plain identifier) and an alphanumeric POSTGRES_APP_PASSWORD"
  # shellcheck disable=SC2016 # $POSTGRES_USER and $POSTGRES_DB are the PostgreSQL container's, expanded there
  { printf '\\set app_password %s\n' "'${app_password}'" && cat k8s/postgres/app-role.sql; } |
    kubectl -n "${NAMESPACE}" exec -i statefulset/reco-postgres -c postgres -- sh -c \
      'exec psql -v ON_ERROR_STOP=1 -qAt -U "$POSTGRES_USER" -d "$POSTGRES_DB" -v owner="$POSTGRES_USER" -v dbname="$POSTGRES_DB" -v app_role="$1" -f -' \
      sh "${app_user}" >/dev/null
}

deploy() {
  local image_changed="$1" existed=no
  kubectl -n "${NAMESPACE}" get deployment reco-api >/dev/null 2>&1 && existed=yes
  log "Applying k8s/"
  kubectl apply -k k8s/
  # Same tag, new content (a rebuild without a version bump): the pod spec did not change, so restart.
  if [ "${existed}" = yes ] && [ "${image_changed}" = changed ]; then
    kubectl -n "${NAMESPACE}" rollout restart deployment/reco-api
  fi
  log "Waiting for PostgreSQL and the API"
  kubectl -n "${NAMESPACE}" rollout status statefulset/reco-postgres --timeout "${ROLLOUT_TIMEOUT}"
  for _ in $(seq 1 60); do
    # shellcheck disable=SC2016 # expanded in the PostgreSQL container
    kubectl -n "${NAMESPACE}" exec statefulset/reco-postgres -c postgres -- sh -c 'pg_isready -q -U "$POSTGRES_USER"' 2>/dev/null && break
    sleep 2
  done
  # The API's pods connect as the application's role: it must exist before they can become ready.
  ensure_app_role
  kubectl -n "${NAMESPACE}" rollout status deployment/reco-api --timeout "${ROLLOUT_TIMEOUT}"
}

# First install only: the MovieLens sample in the image and a first model, so that the API recommends something
# before the first daily ingest. The finished Job stays as the marker; RECO_SKIP_SEED=1 skips this.
seed_once() {
  if [ "${RECO_SKIP_SEED:-0}" = 1 ]; then return 0; fi
  if kubectl -n "${NAMESPACE}" get job reco-seed >/dev/null 2>&1; then
    log "Seed Job reco-seed exists: skipped"
    return 0
  fi
  log "First install: loading the MovieLens sample and training a first model (Job reco-seed, minutes)"
  kubectl apply -k k8s/seed
  local state=""
  for _ in $(seq 1 1080); do # 3 hours, the Job's own deadline
    state="$(kubectl -n "${NAMESPACE}" get job reco-seed -o jsonpath='{.status.conditions[?(@.status=="True")].type}' 2>/dev/null || true)"
    case "${state}" in
      *Complete*) echo "reco-seed completed" && return 0 ;;
      *Failed*) break ;;
    esac
    sleep 10
  done
  echo "warning: the seed Job did not complete (${state:-still running}); the API serves the popularity fallback meanwhile." >&2
  echo "  kubectl -n ${NAMESPACE} logs job/reco-seed -c ingest; kubectl -n ${NAMESPACE} logs job/reco-seed -c train" >&2
  echo "  to retry: kubectl -n ${NAMESPACE} delete job reco-seed && sudo ./setup.sh" >&2
}

print_access() {
  cat <<EOF

reco is running in namespace ${NAMESPACE} (image ${IMAGE}).

API (a ClusterIP Service; forward it, or add an Ingress: docs/deploy.md):
  kubectl -n ${NAMESPACE} port-forward svc/reco-api 8000:8000
  curl -s localhost:8000/readyz
  ADMIN_TOKEN=\$(kubectl -n ${NAMESPACE} get secret reco-api -o jsonpath='{.data.RECO_ADMIN_TOKEN}' | base64 -d)
  curl -s -X POST localhost:8000/create-client -H "X-Admin-Token: \$ADMIN_TOKEN" \\
       -H 'content-type: application/json' -d '{"username":"acme","password":"correct horse battery"}'

Grafana (dashboards "reco / API", "reco / pipeline", "reco / model"):
  kubectl -n ${MONITORING_NAMESPACE} port-forward svc/${RELEASE}-grafana 3000:80
  open http://localhost:3000  user admin, password:
  kubectl -n ${MONITORING_NAMESPACE} get secret grafana-admin -o jsonpath='{.data.admin-password}' | base64 -d

Scheduled jobs (UTC): reco-backup 02:00, reco-ingest 07:00, reco-train 07:30. Run one now:
  kubectl -n ${NAMESPACE} create job --from=cronjob/reco-ingest reco-ingest-manual-\$(date +%s)
(KUBECONFIG=${KUBECONFIG}; k3s installs kubectl.)
EOF
}

main() {
  preflight
  install_prerequisites
  install_k3s
  install_helm
  install_monitoring
  local image_changed
  image_changed="$(build_and_import)"
  create_app_secrets
  deploy "${image_changed}"
  seed_once
  print_access
}

# Sourced (the tests call its functions), it defines them and runs nothing.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main; fi
