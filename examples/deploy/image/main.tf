# Deploy a hatch-lambda-layers image build (mode = "image") with Terraform: one function per
# function of manifest.json, all running the one pushed image with their own handler.
#
#   python push.py ../../../dist/lambda/manifest.json <repository>   # prints the image URI
#   terraform init && terraform apply -var manifest_path=../../../dist/lambda/manifest.json \
#       -var image_uri=<printed URI> -var function_role_arn=arn:aws:iam::123456789012:role/fn

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

variable "image_uri" {
  description = "The pushed image (push.py prints it); its tag names the image's content."
  type        = string
}

variable "function_role_arn" {
  description = "IAM role the functions run as."
  type        = string
}

locals {
  manifest  = jsondecode(file(var.manifest_path))
  image     = local.manifest.image
  functions = { for f in local.image.functions : f.name => f }
}

resource "aws_lambda_function" "this" {
  for_each = local.functions

  function_name = each.key
  role          = var.function_role_arn
  package_type  = "Image"
  image_uri     = var.image_uri
  architectures = [local.manifest.target.architecture]
  memory_size   = 1024
  timeout       = 30

  image_config {
    command = [each.value.handler]
  }
}

output "function_arns" {
  value = { for name, f in aws_lambda_function.this : name => f.arn }
}
