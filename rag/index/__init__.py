"""What is stored and searched: the Chroma store, the chunk table, the lexical index, snapshots, the in-memory search index."""
