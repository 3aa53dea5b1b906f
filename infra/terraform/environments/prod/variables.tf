variable "aws_region" {
  description = "Region of the photo bucket (CloudFront itself is global)."
  type        = string
}

variable "cors_allowed_origins" {
  description = "Web app origins that upload photos from a browser."
  type        = list(string)
  default     = []
}

variable "cdn_aliases" {
  description = "Custom CDN domain names; empty = use the cloudfront.net name."
  type        = list(string)
  default     = []
}

variable "cdn_acm_certificate_arn" {
  description = "ACM certificate (us-east-1) covering cdn_aliases."
  type        = string
  default     = null
}

variable "server_role_names" {
  description = "IAM roles of the running server that get the photo policy attached."
  type        = list(string)
  default     = []
}
