"""The ``package`` flow: build a family's current release into a Bento on the worker."""

from __future__ import annotations

from prefect import flow

from flows.core.config import Settings
from flows.core.store.catalog import Catalog
from flows.server import environment


@flow(name="package")
def package(dataset: str | None = None) -> str:
    """Build the Bento of ``dataset``'s release (default: the newest family); return its tag,
    which ``bentoml serve TAG`` serves on any machine sharing the home's BentoML store."""
    settings = Settings()
    environment.apply(settings)  # BentoML reads its home when first imported
    from bentos.package import package_release

    catalog = Catalog(settings.catalog_path)
    return package_release(catalog, dataset or catalog.newest_family(),
                           settings.root / "bento-builds")
