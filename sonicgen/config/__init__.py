"""Site configuration: schema, validation and loading."""

from sonicgen.config.load import Config, load_config
from sonicgen.config.schema import (
    CollectionConfig,
    FieldSpec,
    MarkdownConfig,
    SiteConfig,
    TaxonomyConfig,
)

__all__ = ["CollectionConfig", "Config", "FieldSpec", "MarkdownConfig", "SiteConfig", "TaxonomyConfig", "load_config"]
