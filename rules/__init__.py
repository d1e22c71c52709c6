"""The rule catalogue: one TOML file per area with each rule's title, default severity,
why it matters, how to fix it, references and an example. Loaded by
``oomaudit.catalogue.make_rules`` and printed by ``oomaudit explain``."""
