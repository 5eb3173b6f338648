"""The zkvm host: command-line interface, input encoding and model packaging."""
