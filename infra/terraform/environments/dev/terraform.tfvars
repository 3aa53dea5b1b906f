# Non-secret settings for dev. Replace the example origins with your own.
aws_region           = "us-east-1"
cors_allowed_origins = ["http://localhost:5173", "http://localhost:8080"]

# Custom domain (optional): the certificate must be in us-east-1.
# cdn_aliases             = ["photos.dev.example.com"]
# cdn_acm_certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/..."

# Roles the server runs as (optional; otherwise attach server_policy_arn yourself).
# server_role_names = ["budget-sync-dev-server"]
