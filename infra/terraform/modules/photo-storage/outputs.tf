output "bucket_name" {
  description = "S3_BUCKET for the server."
  value       = aws_s3_bucket.photos.bucket
}

output "bucket_arn" {
  description = "ARN of the photo bucket."
  value       = aws_s3_bucket.photos.arn
}

output "bucket_region" {
  description = "S3_REGION for the server."
  value       = aws_s3_bucket.photos.region
}

output "cdn_base_url" {
  description = "CDN_BASE_URL for the server (no trailing slash): photo URLs are this + \"/photos/<userId>/<uuid>\"."
  value       = length(var.cdn_aliases) > 0 ? "https://${var.cdn_aliases[0]}" : "https://${aws_cloudfront_distribution.photos.domain_name}"
}

output "cdn_distribution_id" {
  description = "CloudFront distribution id (for invalidations)."
  value       = aws_cloudfront_distribution.photos.id
}

output "server_policy_arn" {
  description = "Managed policy with the server's least-privilege S3 permissions; attach it to the server's role or user."
  value       = aws_iam_policy.server.arn
}

output "server_policy_json" {
  description = "The same permissions as a JSON document, for platforms that take inline policies."
  value       = data.aws_iam_policy_document.server.json
}
