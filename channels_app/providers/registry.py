"""Every provider the app knows: the packages beside this file that hold a `provider.py` with a PROVIDER.

Found by listing the package, not by import side effects: adding a provider means adding its
package (module, errors, recorded answers) and nothing else.
"""

import importlib
import pkgutil
from functools import cache

from channels_app import providers as _package
from channels_app.providers.base import MailProvider


@cache
def provider_classes() -> dict[str, type[MailProvider]]:
    found: list[type[MailProvider]] = []
    for module in pkgutil.iter_modules(_package.__path__):
        if module.ispkg:
            found.append(importlib.import_module(f"{_package.__name__}.{module.name}.provider").PROVIDER)
    return {cls.kind: cls for cls in sorted(found, key=lambda cls: (cls.position, cls.kind))}


def get_provider(kind: str) -> MailProvider:
    return provider_classes()[kind]()


def provider_choices() -> list[tuple[str, str]]:
    """Choices of Channel.provider; a callable, so a new provider needs no migration."""
    return [(kind, cls.label) for kind, cls in provider_classes().items()]
