"""`python -m hatch_lambda_layers` is `lambda-layers`."""

from .cli import run

if __name__ == "__main__":
    run()
