"""Reports made from a `Scan`: nothing here imports Textual."""
