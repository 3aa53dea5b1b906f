data "aws_caller_identity" "current" {}

locals {
  bucket_name = coalesce(var.bucket_name, "${var.name}-${data.aws_caller_identity.current.account_id}")

  # Key layout the server relies on (see src/storage): uploads land under
  # pending/<userId>/<uuid>; confirmed photos are copied to
  # public/photos/<userId>/<uuid>. Only public/ is ever served by the CDN.
  pending_prefix = "pending/"
  public_prefix  = "public/"
  photos_prefix  = "public/photos/"
}

resource "aws_s3_bucket" "photos" {
  bucket        = local.bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "photos" {
  bucket = aws_s3_bucket.photos.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# ACLs disabled: the bucket owner owns every object, including uploads made
# through presigned URLs, so the bucket policy alone decides who reads what.
resource "aws_s3_bucket_ownership_controls" "photos" {
  bucket = aws_s3_bucket.photos.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# SSE-S3 rather than SSE-KMS: CloudFront OAC and presigned PUTs then need no
# KMS key policy or kms:* permissions, and profile photos are public anyway.
resource "aws_s3_bucket_server_side_encryption_configuration" "photos" {
  bucket = aws_s3_bucket.photos.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "photos" {
  count  = var.enable_versioning ? 1 : 0
  bucket = aws_s3_bucket.photos.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "photos" {
  bucket = aws_s3_bucket.photos.id

  # Uploads that were never confirmed (and the leftovers of confirmed ones,
  # which the server copies rather than moves) disappear after a day.
  rule {
    id     = "expire-pending-uploads"
    status = "Enabled"

    filter {
      prefix = local.pending_prefix
    }

    expiration {
      days = var.pending_expiration_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  dynamic "rule" {
    for_each = var.enable_versioning ? [1] : []

    content {
      id     = "expire-replaced-photos"
      status = "Enabled"

      filter {
        prefix = local.public_prefix
      }

      noncurrent_version_expiration {
        noncurrent_days = var.noncurrent_version_retention_days
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.photos]
}

# Browsers upload straight to S3 with the presigned URL; the server signs
# content-type, so the preflight must allow that header.
resource "aws_s3_bucket_cors_configuration" "photos" {
  count  = length(var.cors_allowed_origins) > 0 ? 1 : 0
  bucket = aws_s3_bucket.photos.id

  cors_rule {
    allowed_methods = ["PUT"]
    allowed_origins = var.cors_allowed_origins
    allowed_headers = ["content-type", "x-amz-*"]
    expose_headers  = ["ETag"]
    max_age_seconds = 3600
  }
}

data "aws_iam_policy_document" "bucket" {
  # Only this distribution may read, and only under public/: pending uploads
  # are never reachable through the CDN.
  statement {
    sid       = "CloudFrontReadsPublicPhotos"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.photos.arn}/${local.public_prefix}*"]

    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.photos.arn]
    }
  }

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.photos.arn,
      "${aws_s3_bucket.photos.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "photos" {
  bucket = aws_s3_bucket.photos.id
  policy = data.aws_iam_policy_document.bucket.json

  # S3 refuses concurrent configuration changes on one bucket
  # (OperationAborted), so apply the access block first.
  depends_on = [aws_s3_bucket_public_access_block.photos]
}
