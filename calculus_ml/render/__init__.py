"""Output formats for derivations: text, LaTeX, Markdown and JSON, each walking the step tree."""
