"""Pictures: stored by content, checked, and fitted to each platform's limits."""
