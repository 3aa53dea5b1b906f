output "s3_bucket" {
  description = "Set as S3_BUCKET on the server."
  value       = module.photo_storage.bucket_name
}

output "s3_region" {
  description = "Set as S3_REGION on the server."
  value       = module.photo_storage.bucket_region
}

output "cdn_base_url" {
  description = "Set as CDN_BASE_URL on the server."
  value       = module.photo_storage.cdn_base_url
}

output "cdn_distribution_id" {
  description = "CloudFront distribution id."
  value       = module.photo_storage.cdn_distribution_id
}

output "server_policy_arn" {
  description = "Attach to the server's IAM role or user if server_role_names is empty."
  value       = module.photo_storage.server_policy_arn
}
