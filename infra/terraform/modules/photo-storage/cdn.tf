locals {
  origin_id = "s3-${local.bucket_name}"
}

resource "aws_cloudfront_origin_access_control" "photos" {
  name                              = local.bucket_name
  description                       = "CloudFront signs its requests to the ${var.name} bucket"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

# Photo keys are immutable (a new upload gets a new uuid), so AWS's managed
# "cache everything for long, no cookies or query strings" policy fits.
data "aws_cloudfront_cache_policy" "caching_optimized" {
  name = "Managed-CachingOptimized"
}

resource "aws_cloudfront_distribution" "photos" {
  enabled         = true
  is_ipv6_enabled = true
  http_version    = "http2and3"
  comment         = "${var.name} profile photos"
  price_class     = var.cdn_price_class
  aliases         = var.cdn_aliases
  tags            = var.tags

  # origin_path maps the public URL <cdn>/photos/<userId>/<uuid> onto the key
  # public/photos/<userId>/<uuid>: the server builds photo URLs as
  # CDN_BASE_URL + "/photos/...", so this must stay "/public".
  origin {
    origin_id                = local.origin_id
    domain_name              = aws_s3_bucket.photos.bucket_regional_domain_name
    origin_path              = "/public"
    origin_access_control_id = aws_cloudfront_origin_access_control.photos.id
  }

  default_cache_behavior {
    target_origin_id       = local.origin_id
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    viewer_protocol_policy = "redirect-to-https"
    compress               = true
    cache_policy_id        = data.aws_cloudfront_cache_policy.caching_optimized.id
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = var.cdn_acm_certificate_arn == null
    acm_certificate_arn            = var.cdn_acm_certificate_arn
    ssl_support_method             = var.cdn_acm_certificate_arn == null ? null : "sni-only"
    minimum_protocol_version       = var.cdn_acm_certificate_arn == null ? "TLSv1" : "TLSv1.2_2021"
  }

  lifecycle {
    precondition {
      condition     = length(var.cdn_aliases) == 0 || var.cdn_acm_certificate_arn != null
      error_message = "cdn_aliases needs cdn_acm_certificate_arn (an ACM certificate in us-east-1)."
    }
  }
}
