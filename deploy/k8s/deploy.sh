#!/usr/bin/env bash
# Deploys deploy/k8s with the image pinned by digest (used by .github/workflows/delivery.yml;
# works by hand too). Needs only kubectl (its built-in kustomize).
#
#   IMAGE_REF=ghcr.io/owner/repo@sha256:… NAMESPACE=erp KUBECONFIG_DATA="$(cat kubeconfig)" \
#     bash deploy/k8s/deploy.sh
#   RENDER_ONLY=1 IMAGE_REF=… bash deploy/k8s/deploy.sh    # print the manifests, apply nothing
#
# Order: the previous migration Job is deleted (Jobs are immutable), everything is applied, the
# new Job must complete, then the Deployment's rollout must finish. The server migrates at
# start as well; see deploy/README.md § Migrations for how the two interact.
set -euo pipefail

: "${IMAGE_REF:?IMAGE_REF=registry/name@sha256:digest}"
NAMESPACE="${NAMESPACE:-erp}"
case "$IMAGE_REF" in
    *@sha256:*) ;;
    *) echo "deploy.sh: IMAGE_REF must be pinned by digest (…@sha256:…), got $IMAGE_REF" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "$0")" && pwd)"
overlay="$(mktemp -d)"
trap 'rm -rf "$overlay"' EXIT
cp -r "$here" "$overlay/base"
cat > "$overlay/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: ${NAMESPACE}
resources:
  - base
images:
  - name: erp-mif-maroc
    newName: ${IMAGE_REF%@*}
    digest: ${IMAGE_REF#*@}
YAML

if [ -n "${RENDER_ONLY:-}" ]; then
    kubectl kustomize "$overlay"
    exit 0
fi

: "${KUBECONFIG_DATA:?KUBECONFIG_DATA: the kubeconfig to deploy with}"
export KUBECONFIG="$overlay/kubeconfig"
printf '%s\n' "$KUBECONFIG_DATA" > "$KUBECONFIG"
chmod 600 "$KUBECONFIG"

kubectl -n "$NAMESPACE" delete job erp-migrate --ignore-not-found --wait=true
kubectl apply -k "$overlay"
if ! kubectl -n "$NAMESPACE" wait --for=condition=complete job/erp-migrate --timeout=10m; then
    kubectl -n "$NAMESPACE" logs job/erp-migrate --tail=50 || true
    echo "deploy.sh: the migration Job did not complete" >&2
    exit 1
fi
kubectl -n "$NAMESPACE" rollout status deployment/erp --timeout=10m
kubectl -n "$NAMESPACE" get deployment erp -o wide
