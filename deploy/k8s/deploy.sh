#!/usr/bin/env bash
# Releases deploy/k8s with the image pinned by digest (used by .github/workflows/delivery.yml;
# works by hand too). Needs only kubectl (its built-in kustomize) and a credential scoped to
# the namespace: the namespace and the Secret erp-secrets exist already (one-time steps,
# deploy/README.md § Kubernetes).
#
#   IMAGE_REF=ghcr.io/owner/repo@sha256:… NAMESPACE=erp KUBECONFIG_DATA="$(cat kubeconfig)" \
#     bash deploy/k8s/deploy.sh
#   RENDER_ONLY=1 IMAGE_REF=… bash deploy/k8s/deploy.sh    # print the manifests, apply nothing
#   COMPONENTS="filesystem-documents pod-monitor" …         # optional components/ to include
#
# Sequence (deploy/README.md § Kubernetes, "Release sequence"):
#   1. render the manifests once (kubectl kustomize), so both steps apply the same ConfigMap;
#   2. delete the previous migration Job (Jobs are immutable) and wait until it and its pods
#      are gone;
#   3. apply ONLY the ConfigMap and the migration Job (component config or migration);
#   4. wait until the Job is Complete or Failed (whichever comes first; JOB_TIMEOUT seconds at
#      most): Failed or timed out → print the Job's events and its pods' logs and exit 1,
#      nothing else is applied and the running release keeps serving;
#   5. apply the rest (the Deployment, which does not migrate, Service, HPA, PDB,
#      NetworkPolicy, components) and wait for the rollout.
set -euo pipefail

: "${IMAGE_REF:?IMAGE_REF=registry/name@sha256:digest}"
NAMESPACE="${NAMESPACE:-erp}"
COMPONENTS="${COMPONENTS:-}"
# The Job's own activeDeadlineSeconds (600) plus a margin for scheduling and the image pull.
JOB_TIMEOUT="${JOB_TIMEOUT:-660}"
POLL_SECONDS="${POLL_SECONDS:-5}"
case "$IMAGE_REF" in
    *@sha256:*) ;;
    *) echo "deploy.sh: IMAGE_REF must be pinned by digest (…@sha256:…), got $IMAGE_REF" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "$0")" && pwd)"
overlay="$(mktemp -d)"
trap 'rm -rf "$overlay"' EXIT
cp -r "$here" "$overlay/base"
{
    printf '%s\n' \
        'apiVersion: kustomize.config.k8s.io/v1beta1' \
        'kind: Kustomization' \
        "namespace: ${NAMESPACE}" \
        'resources:' \
        '  - base' \
        'images:' \
        '  - name: erp-mif-maroc' \
        "    newName: ${IMAGE_REF%@*}" \
        "    digest: ${IMAGE_REF#*@}"
    if [ -n "$COMPONENTS" ]; then
        echo 'components:'
        for component in $COMPONENTS; do
            if [ ! -f "$here/components/$component/kustomization.yaml" ]; then
                echo "deploy.sh: no component $component in $here/components" >&2
                exit 2
            fi
            echo "  - base/components/$component"
        done
    fi
} > "$overlay/kustomization.yaml"

rendered="$overlay/rendered.yaml"
kubectl kustomize "$overlay" > "$rendered"
if [ -n "${RENDER_ONLY:-}" ]; then
    cat "$rendered"
    exit 0
fi

: "${KUBECONFIG_DATA:?KUBECONFIG_DATA: the kubeconfig to deploy with}"
export KUBECONFIG="$overlay/kubeconfig"
printf '%s\n' "$KUBECONFIG_DATA" > "$KUBECONFIG"
chmod 600 "$KUBECONFIG"
k() { kubectl -n "$NAMESPACE" "$@"; }

# The state of the migration Job: Complete, Failed, or empty while it runs.
job_state() {
    local conditions
    conditions="$(k get job erp-migrate \
        -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')"
    case " $conditions " in
        *" Failed "*) echo Failed ;;
        *" Complete "*) echo Complete ;;
        *) echo "" ;;
    esac
}

migration_failed() {
    echo "deploy.sh: the migration Job $1; nothing else was applied, the running release is unchanged" >&2
    k describe job erp-migrate >&2 || true
    k logs -l job-name=erp-migrate --all-containers --prefix --tail=200 --max-log-requests=10 >&2 || true
    exit 1
}

echo "deploy.sh: 1/3 migration"
k delete job erp-migrate --ignore-not-found --cascade=foreground --wait=true
k apply -f "$rendered" -l 'app.kubernetes.io/component in (config,migration)'
deadline=$((SECONDS + JOB_TIMEOUT))
while :; do
    state="$(job_state)"
    case "$state" in
        Complete) break ;;
        Failed) migration_failed "failed" ;;
    esac
    if [ "$SECONDS" -ge "$deadline" ]; then
        migration_failed "was neither Complete nor Failed after ${JOB_TIMEOUT} s"
    fi
    sleep "$POLL_SECONDS"
done

echo "deploy.sh: 2/3 apply (migrations done)"
k apply -f "$rendered" -l 'app.kubernetes.io/component!=migration'
echo "deploy.sh: 3/3 rollout"
k rollout status deployment/erp --timeout=10m
k get deployment erp -o wide
