# What the sync server does with the bucket, and nothing more:
#   presign PUT pending/<uid>/<uuid>           -> s3:PutObject on pending/*
#   HEAD/GET the upload, use it as copy source -> s3:GetObject on pending/*
#   copy it to public/photos/<uid>/<uuid>      -> s3:PutObject on public/photos/*
#   delete the upload and replaced photos      -> s3:DeleteObject on both
data "aws_iam_policy_document" "server" {
  statement {
    sid     = "PendingUploads"
    actions = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]
    resources = [
      "${aws_s3_bucket.photos.arn}/${local.pending_prefix}*",
    ]
  }

  statement {
    sid     = "PublicPhotos"
    actions = ["s3:PutObject", "s3:DeleteObject"]
    resources = [
      "${aws_s3_bucket.photos.arn}/${local.photos_prefix}*",
    ]
  }

  # Without s3:ListBucket, HEAD of a key that does not exist answers 403
  # instead of 404, and the server could not tell "not uploaded yet" from
  # "not allowed". S3 evaluates this without a prefix, so it cannot be
  # narrowed by an s3:prefix condition.
  statement {
    sid       = "DistinguishMissingObjects"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.photos.arn]
  }
}

resource "aws_iam_policy" "server" {
  name        = "${var.name}-server"
  description = "Budget sync server: presign, confirm and delete profile photos in ${local.bucket_name}"
  policy      = data.aws_iam_policy_document.server.json
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "server" {
  for_each = toset(var.server_role_names)

  role       = each.value
  policy_arn = aws_iam_policy.server.arn
}
