"""From a folder of documents to stored chunks: reading, chunking, fingerprints, the incremental pipeline."""
