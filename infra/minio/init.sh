#!/bin/sh
# One-shot setup of the local MinIO so it behaves like the Terraform stack:
# private bucket, public/ readable anonymously (standing in for CloudFront with
# origin_path "/public"), pending/ expiring after a day, and an app user that
# holds exactly the server's IAM policy. Safe to run on every `compose up`.
# The bucket name is also written in server-policy.json and docker-compose.yml.
set -eu
BUCKET=budget-photos

mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc mb --ignore-existing "local/$BUCKET"
mc anonymous set download "local/$BUCKET/public"
mc ilm import "local/$BUCKET" < /init/lifecycle.json

mc admin policy create local budget-sync-server /init/server-policy.json
mc admin user add local "$APP_ACCESS_KEY" "$APP_SECRET_KEY"
# Fails when the policy is already attached (a re-run); that is fine.
mc admin policy attach local budget-sync-server --user "$APP_ACCESS_KEY" || true
