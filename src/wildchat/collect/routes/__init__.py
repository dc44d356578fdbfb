"""HTTP routes: consent, chat, models, pages."""
