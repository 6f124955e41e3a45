"""Presentation helpers for the Gradio app (app.py): HTML/Markdown views of answers and sources."""
