variable "name" {
  description = "Base name for every resource, e.g. \"budget-sync-photos-prod\". The bucket is named \"<name>-<account id>\" unless bucket_name is set."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,40}[a-z0-9]$", var.name))
    error_message = "name must be 3-42 lowercase letters, digits or hyphens (it becomes part of a bucket name)."
  }
}

variable "bucket_name" {
  description = "Explicit bucket name. Leave null to derive a globally unique one from name and the account id."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete a bucket that still holds photos. Keep false outside throwaway environments."
  type        = bool
  default     = false
}

variable "enable_versioning" {
  description = "Keep previous versions of objects (protects against accidental deletes at the cost of storage)."
  type        = bool
  default     = false
}

variable "noncurrent_version_retention_days" {
  description = "With versioning on, days to keep overwritten or deleted photo versions before S3 removes them."
  type        = number
  default     = 30
}

variable "pending_expiration_days" {
  description = "Days before an unconfirmed upload under pending/ is deleted. The server copies confirmed uploads out of pending/ at once."
  type        = number
  default     = 1
}

variable "cors_allowed_origins" {
  description = "Web origins allowed to PUT to presigned upload URLs (native apps need none). Empty = no CORS configuration."
  type        = list(string)
  default     = []
}

variable "cdn_price_class" {
  description = "CloudFront price class."
  type        = string
  default     = "PriceClass_100"
}

variable "cdn_aliases" {
  description = "Custom domain names for the CDN. Needs cdn_acm_certificate_arn. The first one becomes cdn_base_url."
  type        = list(string)
  default     = []
}

variable "cdn_acm_certificate_arn" {
  description = "ACM certificate for cdn_aliases. CloudFront only accepts certificates from us-east-1."
  type        = string
  default     = null
}

variable "server_role_names" {
  description = "IAM role names (e.g. the server's task or instance role) to attach the server policy to. Empty = attach it yourself."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
  default     = {}
}
