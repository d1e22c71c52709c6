"""oomaudit.manager registers a plugin module's hooks as pluggy does, reading the module's
own dict first: the same implementations, in the same order, with the same options, for
every built-in plugin and for a module that holds what pluggy can bind besides functions."""
from __future__ import annotations

import types

import pluggy
import pytest

from oomaudit import hookimpl, hookspecs
from oomaudit.entrypoints import entry_points
from oomaudit.manager import GROUP, _Manager


def registered(manager_class, modules) -> dict[str, list[tuple]]:
    manager = manager_class(GROUP)
    manager.add_hookspecs(hookspecs)
    for name, module in modules:
        manager.register(module, name=name)
    return {hook: [(impl.plugin_name, impl.function, impl.tryfirst, impl.trylast,
                    impl.wrapper, impl.hookwrapper)
                   for impl in getattr(manager.hook, hook).get_hookimpls()]
            for hook in vars(manager.hook)}


def test_the_builtin_plugins_register_as_with_pluggy():
    modules = [(ep.name, ep.load()) for ep in entry_points(GROUP)
               if ep.value.startswith("oomaudit.")]
    ours = registered(_Manager, modules)
    assert ours == registered(pluggy.PluginManager, modules)
    assert len(ours["oomaudit_rules"]) >= 20


def _plugin_module() -> types.ModuleType:
    """A module with a hook under its own name, one under another (specname), an ordered
    one, a marked staticmethod object, and names that are no hooks."""
    module = types.ModuleType("acme_plugin")

    def oomaudit_readers():
        return []

    def rules():
        return []

    def oomaudit_budget(host):
        pass

    def oomaudit_collect(host):
        pass

    def oomaudit_unmarked(host):
        pass

    module.oomaudit_readers = hookimpl(oomaudit_readers)
    module.rules = hookimpl(specname="oomaudit_rules")(rules)
    module.oomaudit_budget = hookimpl(tryfirst=True)(oomaudit_budget)
    module.oomaudit_collect = staticmethod(hookimpl(oomaudit_collect))
    module.oomaudit_unmarked = oomaudit_unmarked
    module.READER = object()
    module.hookimpl = hookimpl
    return module


def test_a_module_with_every_kind_of_hook_registers_as_with_pluggy():
    modules = [("acme", _plugin_module())]
    ours = registered(_Manager, modules)
    assert ours == registered(pluggy.PluginManager, modules)
    assert {hook for hook, impls in ours.items() if impls} >= {
        "oomaudit_readers", "oomaudit_rules", "oomaudit_budget"}


def test_a_hook_pluggy_refuses_is_refused_alike():
    module = types.ModuleType("bad_plugin")

    def oomaudit_budget(host, extra):  # an argument the spec does not have
        pass

    module.oomaudit_budget = hookimpl(oomaudit_budget)
    for manager_class in (_Manager, pluggy.PluginManager):
        with pytest.raises(pluggy.PluginValidationError):
            registered(manager_class, [("bad", module)])
