"""Tables (CSV, LaTeX booktabs, Markdown), figures (PNG, PDF) and the HTML index of a run."""
