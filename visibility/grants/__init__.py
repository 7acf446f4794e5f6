"""Grants and their donors' visibility rules: what every post must carry, checked
on every post, and the per-grant dossier that proves it to the donor."""
