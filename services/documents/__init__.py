"""Document layouts in the bureau's working language (annex tables, letters): labels and templates, apart from logic."""
