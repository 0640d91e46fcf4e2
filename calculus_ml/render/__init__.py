"""Output formats for derivations and closed forms: text, LaTeX, Markdown, HTML and JSON; the
formats for reading share one walk over the steps (:mod:`calculus_ml.render.walk`)."""
