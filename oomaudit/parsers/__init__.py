"""Pure parsers, one module per config format: text in, dataclasses out."""
