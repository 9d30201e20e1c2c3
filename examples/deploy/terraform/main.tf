# Deploy a hatch-lambda-layers build with Terraform: one aws_lambda_layer_version per layer in
# manifest.json, and a function whose layers are those versions (manifest order) followed by the
# project's external layers.
#
#   uv build                      # writes dist/lambda/manifest.json and the zips
#   terraform init && terraform apply -var manifest_path=../../../dist/lambda/manifest.json \
#       -var function_role_arn=arn:aws:iam::123456789012:role/my-lambda-role
#
# A layer whose content did not change keeps its zip file name and code_sha256, so Terraform
# sees no difference and creates no new layer version.

terraform {
  required_version = ">= 1.3"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "manifest_path" {
  description = "Path to dist/lambda/manifest.json written by the build."
  type        = string
}

variable "function_name" {
  type    = string
  default = "my-function"
}

variable "function_role_arn" {
  description = "IAM role the function runs as."
  type        = string
}

locals {
  manifest = jsondecode(file(var.manifest_path))
  dist_dir = dirname(var.manifest_path)
  target   = local.manifest.target
  layers   = { for layer in local.manifest.layers : layer.name => layer }
  # The manifest's functions; this example deploys the first one.
  function = local.manifest.functions[0]
}

resource "aws_lambda_layer_version" "this" {
  for_each = local.layers

  layer_name       = each.key
  filename         = "${local.dist_dir}/${each.value.file}"
  source_code_hash = each.value.code_sha256 # base64 sha256, like filebase64sha256()

  compatible_runtimes      = [local.target.runtime]
  compatible_architectures = [local.target.architecture]
  # Same description as `lambda-layers publish` writes, so either tool reuses the other's versions.
  description = "hatch-lambda-layers content_hash=${each.value.content_hash} (layer v${each.value.version})"

  # Keep old versions: functions elsewhere may still use them (nothing is ever deleted).
  skip_destroy = true
}

resource "aws_lambda_function" "this" {
  function_name    = var.function_name
  role             = var.function_role_arn
  runtime          = local.target.runtime
  architectures    = [local.target.architecture]
  handler          = local.function.handler
  filename         = "${local.dist_dir}/${local.function.file}"
  source_code_hash = local.function.code_sha256

  # Built layers in manifest order (later layers overwrite earlier ones), then external layers.
  # A function with dependencies of its own lists the layers it attaches; else it gets all.
  layers = concat(
    [
      for layer in local.manifest.layers : aws_lambda_layer_version.this[layer.name].arn
      if contains(try(local.function.layers, [layer.name]), layer.name)
    ],
    local.manifest.external_layers,
  )
}

output "layer_arns" {
  value = [for layer in local.manifest.layers : aws_lambda_layer_version.this[layer.name].arn]
}
