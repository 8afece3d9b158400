"""Cross-cutting pieces the store apps share: the one retry policy, bounded waits, redaction, the health base."""
