# Non-secret settings for staging. Replace the example origin with your own.
aws_region           = "us-east-1"
cors_allowed_origins = ["https://staging.app.example.com"]

# Custom domain (optional): the certificate must be in us-east-1.
# cdn_aliases             = ["photos.staging.example.com"]
# cdn_acm_certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/..."

# Roles the server runs as (optional; otherwise attach server_policy_arn yourself).
# server_role_names = ["budget-sync-staging-server"]
