"""Probes of what a careful pipeline tool refuses: outputs onto inputs, diverged training, damaged or foreign
files in shared places (issue 13). Each test names the defect it guards against."""
