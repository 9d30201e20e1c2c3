"""Reports people read: the plan as text and JSON, the difference between two manifests, a
pull-request comment in markdown and a self-contained HTML page with a treemap, and the one-line
summary at the end of a build. Models are built from plain data (pure), renderers turn them into
text; nothing here does I/O."""
