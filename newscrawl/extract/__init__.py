"""Site-independent extraction of article metadata and body text from parsed HTML pages."""

from newscrawl.extract.body import extract_paragraphs, generic_paragraphs
from newscrawl.extract.metadata import Metadata, extract_metadata, find_json_ld

__all__ = ["Metadata", "extract_metadata", "extract_paragraphs", "find_json_ld", "generic_paragraphs"]
