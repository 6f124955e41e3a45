"""From a question to ranked passages: query planning, hybrid fusion, passage building, the relevance gate."""
