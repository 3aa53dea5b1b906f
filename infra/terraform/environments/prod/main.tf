terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }

  # Partial configuration: bucket, key, region and locking are passed with
  # -backend-config at init (see ../../README.md), so no account details live
  # in the repository.
  backend "s3" {}
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      Project     = "budget-sync"
      Environment = "prod"
      ManagedBy   = "terraform"
    }
  }
}

module "photo_storage" {
  source = "../../modules/photo-storage"

  name                    = "budget-sync-photos-prod"
  force_destroy           = false
  enable_versioning       = true
  cors_allowed_origins    = var.cors_allowed_origins
  cdn_aliases             = var.cdn_aliases
  cdn_acm_certificate_arn = var.cdn_acm_certificate_arn
  server_role_names       = var.server_role_names
}
