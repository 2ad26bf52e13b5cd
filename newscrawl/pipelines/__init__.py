"""Item pipelines, in order: clean -> validate -> deduplicate -> store."""

from newscrawl.pipelines.clean import CleanPipeline
from newscrawl.pipelines.dedup import DeduplicatePipeline
from newscrawl.pipelines.store import StorePipeline
from newscrawl.pipelines.validate import ValidatePipeline

__all__ = ["CleanPipeline", "DeduplicatePipeline", "StorePipeline", "ValidatePipeline"]
