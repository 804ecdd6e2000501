"""imcopt hardware: design batches, component models, mapping and the cost model."""
