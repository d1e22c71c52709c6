"""Pure parsers, one module per config format: text in, plain records out."""
