"""Built-in rule plugins. Each module is registered through the ``oomaudit`` entry-point
group, exactly as a third-party plugin is (see pyproject.toml)."""
