"""From passages to a cited answer: the query engine, the extractive and LLM answerers, citations, conversation, prompts."""
