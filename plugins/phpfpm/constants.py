"""What the PHP-FPM plugin's registration and its code both need: the plugin's name and
its reader. Kept apart from both so that imports run one way (the code modules import
this, never the package's ``__init__``)."""
from __future__ import annotations

from oomaudit import Reader

PLUGIN = "php-fpm"
SERVICE = PLUGIN  # the memory ledger's service
PACKAGE = "oomaudit.plugins.phpfpm"

READER = Reader(
    name=PLUGIN, parse=f"{PACKAGE}.configs:FpmFile",
    system_paths=("/etc/php/*/fpm/php-fpm.conf", "/etc/php-fpm.conf", "/etc/php/php-fpm.conf",
                  "/usr/local/etc/php-fpm.conf", "/opt/remi/php*/root/etc/php-fpm.conf"),
    # php-fpm.d/ at the top too: pre-commit passes "php-fpm.d/www.conf" (docker/php/'s
    # pool files are sniffed: supervisord.conf lives there as well)
    file_patterns=("php-fpm.conf", "*/php-fpm.d/*.conf", "php-fpm.d/*.conf",
                   "*/fpm/pool.d/*.conf", "fpm/pool.d/*.conf"),
    sniff="oomaudit.parsers.phpfpm:sniff",
    # the sniffer wants a pool key or, under [global], one of php-fpm.conf's own keys
    # (commented or not), each followed by '=' (nginx's 'include x;' is not); the
    # [section] it also wants is common to every INI file
    sniff_hint=r"^[ \t]*;?[ \t]*(?:pm(?:\.[a-z_]+)?|listen(?:\.[a-z_]+)?|"
               r"php_admin_value\[[a-z_.]+\]|request_terminate_timeout|"
               r"include|pid|error_log|process_control_timeout)[ \t]*=",
    comment_prefixes=(";",),
    expands=("${",))  # its INI scanner fills ${VAR} from the environment
