"""Orders API: an example AWS Lambda function built with hatch-lambda-layers."""
